// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The systems compared side by side, each configured the way its own documentation recommends, in
// front of the same demo pods. Every system takes membership changes and reloads its own way:
//   plugin   Envoy + this plugin: EDS for membership, ECDS + RDS for config (no listener drain)
//   maglev   Envoy, native hash_policy on appId+roomId with lb_policy MAGLEV: EDS, RDS
//   nginx    nginx `hash ... consistent`: open-source nginx has no dynamic upstreams, so every
//            membership change is a config rewrite + `nginx -s reload`
//   haproxy  HAProxy string stick table on path:appId:roomId (peers-persisted across reloads):
//            membership through the runtime API (server-template slots, set server ... state),
//            reload = seamless master-worker reload (SIGUSR2) with the server state file
//   nginx-lua  the ingress-nginx patch teams use today: a Lua shared-dict room cache in the balancer,
//            endpoints pushed to a shared dict (no reload), config change = `nginx -s reload`
// Old nginx workers and old HAProxy processes keep reload-surviving sockets only until
// worker_shutdown_timeout / hard-stop-after, both set to RELOAD_GRACE_S (ingress-nginx ships 240 s;
// scaled down here like Envoy's --drain-time-s).
import { spawn, spawnSync, ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitFor, sleep } from "../tools/lib/wait";
import { httpGet } from "../tools/lib/http";
import { System, Member, RELOAD_GRACE_S } from "../tools/lib/system";

const addr = (m: Member) => `${m.host}:${m.port}`;
const draining = (m: Member) => m.health === "DRAINING";

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
async function stopProcess(proc: ChildProcess | null): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------- nginx

function nginxBin(): string {
  return "/usr/sbin/nginx";
}

abstract class NginxBase implements System {
  proc: ChildProcess | null = null;
  abstract readonly name: string;
  abstract readonly label: string;
  abstract readonly key: string;
  abstract readonly how: string;

  constructor(
    public port: number,
    public dir: string,
  ) {}

  protected abstract upstreamBlock(members: Member[]): string;
  protected extraHttp(): string {
    return "";
  }
  protected extraServer(): string {
    return "";
  }
  protected modules(): string {
    return "";
  }

  protected render(members: Member[]): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const conf = `${this.modules()}
worker_processes 2;
pid ${this.dir}/nginx.pid;
error_log ${this.dir}/error.log warn;
# ingress-nginx ships 240s; scaled down like Envoy's drain time in this run.
worker_shutdown_timeout ${RELOAD_GRACE_S}s;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path ${this.dir}/tmp;
  proxy_temp_path ${this.dir}/tmp;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  ${this.extraHttp()}
  ${this.upstreamBlock(members)}
  server {
    listen 127.0.0.1:${this.port} reuseport;
    ${this.extraServer()}
    location / {
      proxy_pass http://pods;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_connect_timeout 1s;
    }
  }
}
`;
    fs.mkdirSync(path.join(this.dir, "tmp"), { recursive: true });
    fs.writeFileSync(path.join(this.dir, "nginx.conf"), conf);
  }

  protected signal(sig: string): void {
    const r = spawnSync(nginxBin(), ["-p", this.dir, "-c", path.join(this.dir, "nginx.conf"), "-s", sig], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`nginx -s ${sig}: ${r.stderr}`);
  }

  async start(members: Member[]): Promise<void> {
    this.render(members);
    const t = spawnSync(nginxBin(), ["-t", "-p", this.dir, "-c", path.join(this.dir, "nginx.conf")], { encoding: "utf8" });
    if (t.status !== 0) throw new Error(`nginx -t: ${t.stderr}`);
    this.proc = spawn(nginxBin(), ["-p", this.dir, "-c", path.join(this.dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    await waitFor(`${this.name} listening`, async () => (await httpGet("127.0.0.1", this.port, "/plain")).status > 0, 10000);
    await this.afterStart(members);
  }

  protected async afterStart(members: Member[]): Promise<void> {}

  async reload(): Promise<void> {
    this.signal("reload");
    await sleep(1000);
  }

  async setMembers(members: Member[]): Promise<void> {
    this.render(members);
    await this.reload();
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
  }
}

export class NginxHashSystem extends NginxBase {
  readonly name = "nginx";
  readonly label = "nginx hash consistent";
  readonly key = "path:appId:roomId";
  readonly how =
    "upstream hash $uri:$arg_appId:$arg_roomId consistent; membership change = rewrite + nginx -s reload (no dynamic upstreams in open-source nginx); draining pods leave the upstream";

  protected upstreamBlock(members: Member[]): string {
    // No drain state in open-source nginx: a draining pod (Kubernetes: not ready) leaves the upstream.
    const servers = members.filter((m) => !draining(m)).map((m) => `server ${addr(m)} max_fails=1 fail_timeout=2s;`);
    return `upstream pods { hash $uri:$arg_appId:$arg_roomId consistent; ${servers.join(" ")} }`;
  }
}

export class NginxLuaSystem extends NginxBase {
  readonly name = "nginx-lua";
  readonly label = "nginx + Lua shared-dict cache";
  readonly key = "path:appId:roomId";
  readonly how =
    "balancer_by_lua with lua_shared_dict room cache (TTL 24 h) as teams patch ingress-nginx; endpoints pushed to a shared dict (no reload); draining pods keep cached rooms";

  protected modules(): string {
    return "load_module /usr/lib/nginx/modules/ndk_http_module.so;\nload_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\nuser root;";
  }

  protected extraHttp(): string {
    return `lua_package_path "/usr/share/lua/5.1/?.lua;;";
  lua_shared_dict room_cache 50m;
  lua_shared_dict endpoints 1m;`;
  }

  protected extraServer(): string {
    // Like ingress-nginx's /configuration/backends: endpoints arrive without a reload.
    return `location = /_endpoints {
      allow 127.0.0.1; deny all;
      content_by_lua_block {
        ngx.req.read_body()
        ngx.shared.endpoints:set("list", ngx.req.get_body_data() or "")
        ngx.say("ok")
      }
    }`;
  }

  protected upstreamBlock(): string {
    return `upstream pods {
    server 127.0.0.1:1;
    balancer_by_lua_block {
      local balancer = require "ngx.balancer"
      local key = ngx.var.uri .. ":" .. (ngx.var.arg_appId or "") .. ":" .. (ngx.var.arg_roomId or "")
      local list = ngx.shared.endpoints:get("list") or ""
      local usable, fresh = {}, {}
      for a, state in string.gmatch(list, "(%S+) (%S+)") do
        usable[a] = true
        if state == "serving" then fresh[#fresh + 1] = a end
      end
      local cache = ngx.shared.room_cache
      local backend = cache:get(key)
      if not backend or not usable[backend] then
        if #fresh == 0 then return ngx.exit(502) end
        backend = fresh[math.random(#fresh)]
      end
      cache:set(key, backend, 86400)
      local host, port = backend:match("^(.+):(%d+)$")
      local ok, err = balancer.set_current_peer(host, tonumber(port))
      if not ok then cache:delete(key) end
    }
  }`;
  }

  private async push(members: Member[]): Promise<void> {
    const body = members.map((m) => `${addr(m)} ${draining(m) ? "draining" : "serving"}`).join("\n");
    const r = await fetch(`http://127.0.0.1:${this.port}/_endpoints`, { method: "POST", body });
    if (!r.ok) throw new Error(`nginx-lua endpoints: ${r.status}`);
  }

  protected async afterStart(members: Member[]): Promise<void> {
    await this.push(members);
  }

  async setMembers(members: Member[]): Promise<void> {
    await this.push(members);
  }

  async reload(): Promise<void> {
    await super.reload();
  }
}

// ---------------------------------------------------------------- HAProxy

const HAPROXY_SLOTS = 12;

export class HaproxySystem implements System {
  readonly name = "haproxy";
  readonly label = "HAProxy stick table";
  readonly key = "path:appId:roomId";
  readonly how =
    "stick-table type string (peers-persisted) + stick on path:appId:roomId, option redispatch; membership by runtime API (server-template, set server state ready/drain/maint); reload = master-worker SIGUSR2 with server-state-file";
  proc: ChildProcess | null = null;
  private slots = new Map<string, number>(); // address -> slot

  /**
   * `peers`: the stick-table peers of all instances (name -> peer port) when several HAProxy instances
   * share their table (its documented answer for several load balancers), with `localName` this one's.
   */
  constructor(
    public port: number,
    public peerPort: number,
    public dir: string,
    public localName = "room-lb",
    public peers: Record<string, number> = {},
  ) {}

  private render(): void {
    const peers = Object.keys(this.peers).length > 0 ? this.peers : { [this.localName]: this.peerPort };
    fs.mkdirSync(this.dir, { recursive: true });
    const conf = `global
  master-worker
  localpeer ${this.localName}
  stats socket ${this.dir}/admin.sock mode 600 level admin expose-fd listeners
  server-state-file ${this.dir}/server-state
  # Two fds per proxied connection; this machine allows 20000 per process.
  maxconn 9000
  # Old processes keep reload-surviving sockets only this long (like nginx's worker_shutdown_timeout).
  hard-stop-after ${RELOAD_GRACE_S}s

defaults
  mode http
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  option redispatch
  load-server-state-from-file global

peers local
${Object.entries(peers)
  .map(([n, p]) => `  peer ${n} 127.0.0.1:${p}`)
  .join("\n")}

frontend game
  bind 127.0.0.1:${this.port}
  default_backend pods

backend pods
  balance roundrobin
  stick-table type string len 256 size 1m expire 24h peers local
  http-request set-var(txn.appid) url_param(appId)
  http-request set-var(txn.roomid) url_param(roomId)
  http-request set-var(txn.room) path,concat(:,txn.appid,:),concat(,txn.roomid,)
  stick on var(txn.room)
  default-server check inter 1s fall 1 rise 1
  server-template pod 1-${HAPROXY_SLOTS} 127.0.0.1:1 disabled
`;
    fs.writeFileSync(path.join(this.dir, "haproxy.cfg"), conf);
    if (!fs.existsSync(path.join(this.dir, "server-state"))) fs.writeFileSync(path.join(this.dir, "server-state"), "");
  }

  cmd(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path.join(this.dir, "admin.sock"));
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve(out));
      s.on("error", reject);
      s.write(command + "\n");
    });
  }

  async start(members: Member[]): Promise<void> {
    this.slots.clear(); // a fresh process knows no server addresses
    this.render();
    const c = spawnSync("/usr/sbin/haproxy", ["-c", "-f", path.join(this.dir, "haproxy.cfg")], { encoding: "utf8" });
    if (c.status !== 0) throw new Error(`haproxy -c: ${c.stdout}${c.stderr}`);
    this.proc = spawn("/usr/sbin/haproxy", ["-W", "-f", path.join(this.dir, "haproxy.cfg"), "-p", path.join(this.dir, "haproxy.pid")], {
      stdio: ["ignore", fs.openSync(path.join(this.dir, "haproxy.log"), "a"), fs.openSync(path.join(this.dir, "haproxy.log"), "a")],
    });
    await waitFor("haproxy admin socket", async () => (await this.cmd("show info")).includes("Name: HAProxy"), 10000);
    await this.setMembers(members);
  }

  async setMembers(members: Member[]): Promise<void> {
    const wanted = new Set(members.map(addr));
    // Servers that left go to maintenance (stuck rooms are redispatched).
    for (const [a, slot] of this.slots) {
      if (!wanted.has(a)) {
        await this.cmd(`set server pods/pod${slot} state maint`);
        this.slots.delete(a);
      }
    }
    for (const m of members) {
      let slot = this.slots.get(addr(m));
      if (slot === undefined) {
        const used = new Set(this.slots.values());
        slot = [...Array(HAPROXY_SLOTS).keys()].map((i) => i + 1).find((i) => !used.has(i));
        if (slot === undefined) throw new Error("haproxy: out of server slots");
        this.slots.set(addr(m), slot);
        await this.cmd(`set server pods/pod${slot} addr ${m.host} port ${m.port}`);
      }
      await this.cmd(`set server pods/pod${slot} state ${draining(m) ? "drain" : "ready"}`);
    }
    // Wait for health checks to pass on the serving ones.
    await waitFor(
      "haproxy servers up",
      async () => {
        const st = await this.cmd("show servers state pods");
        return members.every((m) => {
          const line = st.split("\n").find((l) => l.split(" ")[3] === `pod${this.slots.get(addr(m))}`);
          return line !== undefined && line.split(" ")[5] === "2"; // srv_op_state 2 = running
        });
      },
      15000,
    );
  }

  async reload(): Promise<void> {
    fs.writeFileSync(path.join(this.dir, "server-state"), await this.cmd("show servers state"));
    const pid = Number(fs.readFileSync(path.join(this.dir, "haproxy.pid"), "utf8").trim().split("\n")[0]);
    process.kill(pid, "SIGUSR2");
    await sleep(1500);
    await waitFor("haproxy after reload", async () => (await this.cmd("show info")).includes("Name: HAProxy"), 10000);
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
  }
}
