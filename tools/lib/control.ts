// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The trial control plane: changes the cluster behind a running gateway the way Kubernetes and a
// control plane would (pods start, crash, drain, leave the endpoints; plugin config and routes change),
// always through Envoy's file-based xDS (Gateway). Pods and their states live in the PodFleet. The
// trial serves it over HTTP (ControlServer); tests and benchmarks drive the same class.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { Gateway } from "./gateway";
import { ROOT } from "./paths";
import { TrialPlayers, StartPlayers } from "./trial-players";
import { readClusterView, ClusterView } from "./cluster-view";
import type { GatewayInfo } from "./cluster-view-types";
import { pluginConfigVerdict } from "./config-verdict";
import { PodFleet, PodProcess, PodState, ExpectedHostState } from "./pods";
import { Etcd } from "./etcd";

export type { PodState };

export interface PodInfo {
  id: string;
  address: string;
  state: PodState;
  rooms: number;
  players: number;
}

export class ControlError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export type { GatewayInfo };

export class TrialControl {
  private restarting = new Set<number>();
  /** Pods of rolling updates still draining: each stops once its last player has left. */
  private retiring = new Set<string>();
  private retireTimer: NodeJS.Timeout | null = null;
  private generation = 1;
  /** The trial's built-in players, if it runs any (the console starts and stops them). */
  players: TrialPlayers | null = null;

  /** Pod and config operations apply to every gateway replica; `etcd` is the shared room directory, if any. */
  constructor(
    public gateways: Gateway[],
    public fleet: PodFleet,
    public etcd: Etcd | null = null,
  ) {}

  private pod(id: string): PodProcess {
    const p = this.fleet.get(id);
    if (!p) throw new ControlError(404, `no pod ${id}`);
    return p;
  }

  private publishEndpoints(): void {
    for (const gw of this.gateways) gw.setEndpoints(this.fleet.endpoints());
  }

  listGateways(): GatewayInfo[] {
    return this.gateways.map((gw, i) => ({
      id: `gw${i + 1}`,
      listen: `127.0.0.1:${gw.port}`,
      admin: `127.0.0.1:${gw.adminPort}`,
      state: this.restarting.has(i)
        ? "restarting"
        : gw.envoy.proc.exitCode === null && gw.envoy.proc.signalCode === null
          ? "running"
          : "stopped",
    }));
  }

  /** Stops and starts one replica, as a gateway upgrade does: its shared data (local table) is lost. */
  async restartGateway(id: string): Promise<GatewayInfo> {
    const m = /^gw([0-9]+)$/.exec(id);
    const i = m ? Number(m[1]) - 1 : -1;
    if (i < 0 || i >= this.gateways.length) throw new ControlError(404, `no gateway ${id}`);
    if (this.restarting.has(i)) throw new ControlError(409, `gateway ${id} is restarting`);
    this.restarting.add(i);
    try {
      this.gateways[i].layout.endpoints = this.fleet.endpoints();
      await this.gateways[i].restart();
    } finally {
      this.restarting.delete(i);
    }
    return this.listGateways()[i];
  }

  private requireDirectory(): Etcd {
    if (!this.etcd) throw new ControlError(409, "no room directory in this trial (start it with --replicas 2)");
    return this.etcd;
  }

  async stopDirectory(): Promise<{ directory: string }> {
    await this.requireDirectory().stop();
    return { directory: "stopped" };
  }

  async startDirectory(): Promise<{ directory: string }> {
    const e = this.requireDirectory();
    e.thaw();
    await e.start();
    return { directory: "running" };
  }

  async list(): Promise<PodInfo[]> {
    return Promise.all(
      this.fleet.pods.map(async (p) => {
        const state = this.fleet.state(p.id)!;
        let rooms = 0;
        let players = 0;
        if (state !== "stopped" && state !== "killed") {
          try {
            const s = await p.stats();
            rooms = Object.keys(s.rooms).length;
            players = s.players;
          } catch {
            /* not answering: report zeros */
          }
        }
        return { id: p.id, address: p.address, state, rooms, players };
      }),
    );
  }

  /** Starts `count` new pods named `<prefix>-<n>` and adds them to the endpoints. */
  async start(count: number, prefix = "pod"): Promise<string[]> {
    if (!Number.isInteger(count) || count < 1 || count > 50) throw new ControlError(400, "count must be an integer from 1 to 50");
    if (!/^[a-z0-9-]{1,20}$/.test(prefix)) throw new ControlError(400, "prefix must match [a-z0-9-]{1,20}");
    const started = await this.fleet.start(count, prefix);
    this.publishEndpoints();
    return started.map((p) => p.id);
  }

  /** Scales the serving pods to `count`: starts new ones, or stops the newest (out of endpoints, then SIGTERM). */
  async scale(count: number): Promise<PodInfo[]> {
    if (!Number.isInteger(count) || count < 0 || count > 50) throw new ControlError(400, "count must be an integer from 0 to 50");
    const serving = this.fleet.inState("serving");
    if (count > serving.length) await this.start(count - serving.length);
    else if (count < serving.length) {
      const victims = serving.slice(count);
      for (const p of victims) this.fleet.setState(p.id, "stopped");
      this.publishEndpoints();
      await Promise.all(victims.map((p) => p.kill("SIGTERM")));
    }
    return this.list();
  }

  expectedEnvoyView(): Record<string, ExpectedHostState> {
    return this.fleet.expectedView();
  }

  /** Waits until Envoy and then the plugin's membership snapshot reflect the pods' states. */
  async settle(): Promise<void> {
    await Promise.all(this.gateways.map((gw) => gw.settle(this.fleet.expectedView())));
  }

  async kill(id: string): Promise<void> {
    await this.pod(id).kill("SIGKILL");
    this.fleet.setState(id, "killed");
  }

  drain(id: string): void {
    this.requireRunning(id);
    this.fleet.setState(id, "draining");
    this.publishEndpoints();
  }

  /** A draining pod takes new rooms again (a cancelled rollout). */
  undrain(id: string): void {
    this.pod(id);
    const s = this.fleet.state(id);
    if (s !== "draining") throw new ControlError(409, `pod ${id} is ${s}, not draining`);
    this.fleet.setState(id, "serving");
    this.publishEndpoints();
  }

  /** Starts a killed, stopped or removed pod again on its own address, empty, and puts it back in the endpoints
   *  (as Kubernetes restarts a crashed container); a running pod is killed first (a crash loop). */
  async restart(id: string): Promise<void> {
    this.pod(id);
    await this.fleet.restart(id);
    this.publishEndpoints();
  }

  remove(id: string): void {
    this.pod(id);
    const s = this.fleet.state(id);
    if (s === "stopped") throw new ControlError(409, `pod ${id} is stopped`);
    this.fleet.setState(id, s === "killed" ? "stopped" : "removed");
    this.publishEndpoints();
  }

  async stop(id: string): Promise<void> {
    const p = this.pod(id);
    this.fleet.setState(id, "stopped");
    this.publishEndpoints();
    await p.kill("SIGTERM");
  }

  private requireRunning(id: string): void {
    this.pod(id);
    const s = this.fleet.state(id);
    if (s !== "serving" && s !== "draining") throw new ControlError(409, `pod ${id} is ${s}`);
  }

  /**
   * A rolling update: as many new pods as are serving start, the serving ones drain (they keep their
   * rooms and take no new ones), and each stops once its last player has left, as a game server exits
   * when its last game ends.
   */
  async rollingUpdate(): Promise<{ started: string[]; draining: string[] }> {
    const old = this.fleet.inState("serving");
    if (old.length === 0) throw new ControlError(409, "no serving pod to update");
    this.generation++;
    const started = await this.start(old.length, `v${this.generation}`);
    for (const p of old) {
      this.fleet.setState(p.id, "draining");
      this.retiring.add(p.id);
    }
    this.publishEndpoints();
    this.retireTimer ??= setInterval(() => void this.retireEmpty(), 1000);
    return { started, draining: old.map((p) => p.id) };
  }

  private async retireEmpty(): Promise<void> {
    for (const id of [...this.retiring]) {
      if (this.fleet.state(id) !== "draining") {
        this.retiring.delete(id);
        continue;
      }
      const players = await this.pod(id)
        .stats()
        .then((s) => s.players)
        .catch(() => -1);
      if (players === 0 && this.retiring.delete(id)) await this.stop(id);
    }
    if (this.retiring.size === 0 && this.retireTimer) {
      clearInterval(this.retireTimer);
      this.retireTimer = null;
    }
  }

  /** Stops background work (the rolling update's watcher, the players). */
  async close(): Promise<void> {
    if (this.retireTimer) clearInterval(this.retireTimer);
    this.retireTimer = null;
    await this.players?.stop();
  }

  startPlayers(o: StartPlayers): { rooms: string[] } {
    if (!this.players) throw new ControlError(409, "this trial runs no built-in players");
    try {
      return { rooms: this.players.start(o) };
    } catch (e) {
      throw new ControlError(400, e instanceof Error ? e.message : String(e));
    }
  }

  async stopPlayers(): Promise<{ stopped: number }> {
    if (!this.players) throw new ControlError(409, "this trial runs no built-in players");
    return { stopped: await this.players.stop() };
  }

  view(): Promise<ClusterView> {
    return readClusterView(this, this.players?.summary() ?? null);
  }

  async setPluginConfig(config: unknown): Promise<void> {
    if (typeof config !== "object" || config === null || Array.isArray(config))
      throw new ControlError(400, "plugin config must be a JSON object");
    // Asked of the built plugin first: a configuration it refuses is answered with its own words, and
    // the one in force stays (Envoy would keep it too, with the error only in its log).
    const refused = await pluginConfigVerdict(config);
    if (refused) throw new ControlError(400, refused);
    // The directory block of a replica trial stays unless the new config says otherwise.
    const keep = this.etcd && !("directory" in config) ? { directory: JSON.parse(this.gateways[0].layout.pluginConfig).directory } : {};
    for (const gw of this.gateways) gw.pushPluginConfig({ ...keep, ...config });
  }

  /** Pushes the route configuration (RDS) again with a new version (visible as x-route-version on responses). */
  reloadRoutes(): number {
    let v = 0;
    for (const gw of this.gateways) v = gw.reloadRoutes();
    return v;
  }
}

const MAX_BODY_DEPTH = 64;
/** The console's view is pushed this often (the issue asks for at least twice a second). */
const PUSH_EVERY_MS = 500;
const CONSOLE_DIR = path.join(ROOT, "dist", "console");
const CONSOLE_ASSETS: Record<string, { file: string; type: string }> = {
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console.js": { file: "console.js", type: "text/javascript; charset=utf-8" },
  "/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
};

/** Depth of arrays and objects in a parsed JSON value, measured without recursion. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** The control API over HTTP (JSON). Routes are listed by GET /. */
export class ControlServer {
  server: http.Server;

  static readonly ROUTES = [
    "GET  /pods                      list pods: id, address, state, rooms, players",
    "POST /pods        {count,prefix} start pods (added to the endpoints)",
    "POST /scale       {count}        scale serving pods to count (scale-in stops the newest)",
    "POST /pods/:id/kill              SIGKILL the pod (crash); its endpoint stays until removed",
    "POST /pods/:id/drain             publish the pod as DRAINING (keeps its rooms, gets no new ones)",
    "POST /pods/:id/remove            take the pod out of the endpoints (it keeps running)",
    "POST /pods/:id/stop              take the pod out of the endpoints and stop it (SIGTERM)",
    "POST /pods/:id/undrain           publish a draining pod as serving again (it takes new rooms)",
    "POST /pods/:id/restart           start the pod again on its address, empty, in the endpoints (after kill or stop)",
    "PUT  /plugin-config  {...}       push a plugin configuration by ECDS",
    "POST /routes/reload              push the routes again by RDS (new version)",
    "POST /settle                     wait until Envoy and the plugin's membership show the pods' states",
    "GET  /gateways                   list gateway replicas: id, listen, admin, state",
    "POST /gateways/:id/restart       stop and start one replica (its local table is lost, as in an upgrade)",
    "POST /directory/stop             stop the room directory (etcd); joins fail open",
    "POST /directory/start            start it again (same data)",
    "POST /rolling-update             start as many new pods as serve, drain the old ones; each stops when empty",
    "POST /players    {rooms,players} start built-in players (they rejoin like game clients; some switch network)",
    "POST /players/stop               stop the built-in players",
    "GET  /view                       the cluster as the console shows it: pods' rooms, split rooms, counters",
    "GET  /events                     the same view, pushed twice a second (server-sent events)",
  ];

  /** Console pages and event streams are served here; everything else is the JSON API. */
  private streams = new Set<http.ServerResponse>();
  private pushTimer: NodeJS.Timeout | null = null;

  constructor(public control: TrialControl) {
    this.server = http.createServer((req, res) => {
      if (this.serveConsole(req, res)) return;
      this.handle(req).then(
        (body) => this.reply(res, 200, body),
        (e) => this.reply(res, e instanceof ControlError ? e.status : 500, { error: e instanceof Error ? e.message : String(e) }),
      );
    });
  }

  listen(port: number, host = "127.0.0.1"): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  close(): Promise<void> {
    if (this.pushTimer) clearInterval(this.pushTimer);
    this.pushTimer = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** The console: its page and bundle (built into dist/console), and the pushed view. */
  private serveConsole(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://control");
    if (req.method !== "GET") return false;
    const page = url.pathname === "/" && (req.headers.accept ?? "").includes("text/html");
    const asset = CONSOLE_ASSETS[page ? "/index.html" : url.pathname];
    if (asset) {
      const file = path.join(CONSOLE_DIR, asset.file);
      if (!fs.existsSync(file)) {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("the console is not built: run npm run build\n");
      } else {
        res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
        res.end(fs.readFileSync(file));
      }
      return true;
    }
    if (url.pathname !== "/events") return false;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    this.streams.add(res);
    req.on("close", () => this.streams.delete(res));
    // One read of the cluster per push, whoever listens: pages add no load on the pods.
    this.pushTimer ??= setInterval(() => void this.push(), PUSH_EVERY_MS);
    return true;
  }

  private pushing = false;
  private async push(): Promise<void> {
    if (this.pushing) return;
    if (this.streams.size === 0) {
      if (this.pushTimer) clearInterval(this.pushTimer);
      this.pushTimer = null;
      return;
    }
    this.pushing = true;
    try {
      const data = `data: ${JSON.stringify(await this.control.view())}\n\n`;
      for (const s of this.streams) s.write(data);
    } catch {
      // A view that could not be read this time (a pod between states): the next push brings it.
    } finally {
      this.pushing = false;
    }
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body) + "\n");
  }

  private async body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (raw.trim() === "") return {};
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new ControlError(400, `body must be JSON: ${e instanceof Error ? e.message : e}`);
    }
    // Rendering a plugin config into xDS recurses; a deeper body would overflow the stack (a 500).
    if (nestingDepth(value) > MAX_BODY_DEPTH) throw new ControlError(400, `body nests deeper than ${MAX_BODY_DEPTH} levels`);
    return value as Record<string, unknown>;
  }

  private async handle(req: http.IncomingMessage): Promise<unknown> {
    const c = this.control;
    const url = new URL(req.url ?? "/", "http://control");
    const m = `${req.method} ${url.pathname}`;
    if (m === "GET /") return { routes: ControlServer.ROUTES };
    if (m === "GET /pods") return c.list();
    if (m === "POST /pods") {
      const b = await this.body(req);
      return { started: await c.start(Number(b.count ?? 1), String(b.prefix ?? "pod")) };
    }
    if (m === "POST /scale") return c.scale(Number((await this.body(req)).count));
    if (m === "PUT /plugin-config") {
      await c.setPluginConfig(await this.body(req));
      return { ok: true };
    }
    if (m === "POST /routes/reload") return { version: c.reloadRoutes() };
    if (m === "POST /settle") {
      await c.settle();
      return { ok: true, view: c.expectedEnvoyView() };
    }
    if (m === "GET /gateways") return c.listGateways();
    const restart = /^POST \/gateways\/([^/]+)\/restart$/.exec(m);
    if (restart) return c.restartGateway(restart[1]);
    if (m === "POST /directory/stop") return c.stopDirectory();
    if (m === "POST /directory/start") return c.startDirectory();
    if (m === "POST /rolling-update") return c.rollingUpdate();
    if (m === "GET /view") return c.view();
    if (m === "POST /players") {
      const b = await this.body(req);
      return c.startPlayers({
        rooms: Number(b.rooms ?? 10),
        players: Number(b.players ?? 3),
        switchOneIn: b.switchOneIn === undefined ? undefined : Number(b.switchOneIn),
        switchEveryMs: b.switchEveryMs === undefined ? undefined : Number(b.switchEveryMs),
      });
    }
    if (m === "POST /players/stop") return c.stopPlayers();
    const action = /^POST \/pods\/([^/]+)\/(kill|drain|undrain|restart|remove|stop)$/.exec(m);
    if (action) {
      const [, id, verb] = action;
      if (verb === "kill") await c.kill(id);
      else if (verb === "drain") c.drain(id);
      else if (verb === "undrain") c.undrain(id);
      else if (verb === "restart") await c.restart(id);
      else if (verb === "remove") c.remove(id);
      else await c.stop(id);
      return { ok: true, pod: id, state: c.fleet.state(id) };
    }
    throw new ControlError(404, `no route ${m}; GET / lists the routes`);
  }
}

/** A small client for the control API (tests, benchmarks). */
export class ControlClient {
  constructor(
    public port: number,
    public host = "127.0.0.1",
  ) {}

  async call<T = unknown>(method: string, pathname: string, body?: unknown): Promise<T> {
    const r = await fetch(`http://${this.host}:${this.port}${pathname}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${pathname}: ${r.status} ${json.error}`);
    return json as T;
  }

  pods(): Promise<PodInfo[]> {
    return this.call("GET", "/pods");
  }
  view(): Promise<ClusterView> {
    return this.call("GET", "/view");
  }
  rollingUpdate(): Promise<{ started: string[]; draining: string[] }> {
    return this.call("POST", "/rolling-update");
  }
  startPlayers(rooms: number, players: number, switchOneIn = 0): Promise<{ rooms: string[] }> {
    return this.call("POST", "/players", { rooms, players, switchOneIn });
  }
  stopPlayers(): Promise<{ stopped: number }> {
    return this.call("POST", "/players/stop");
  }
  start(count: number, prefix = "pod"): Promise<{ started: string[] }> {
    return this.call("POST", "/pods", { count, prefix });
  }
  scale(count: number): Promise<PodInfo[]> {
    return this.call("POST", "/scale", { count });
  }
  kill(id: string) {
    return this.call("POST", `/pods/${id}/kill`);
  }
  drain(id: string) {
    return this.call("POST", `/pods/${id}/drain`);
  }
  remove(id: string) {
    return this.call("POST", `/pods/${id}/remove`);
  }
  stop(id: string) {
    return this.call("POST", `/pods/${id}/stop`);
  }
  undrain(id: string) {
    return this.call("POST", `/pods/${id}/undrain`);
  }
  restart(id: string) {
    return this.call("POST", `/pods/${id}/restart`);
  }
  pluginConfig(config: unknown) {
    return this.call("PUT", "/plugin-config", config);
  }
  reloadRoutes(): Promise<{ version: number }> {
    return this.call("POST", "/routes/reload");
  }
  settle() {
    return this.call("POST", "/settle");
  }
  gateways(): Promise<GatewayInfo[]> {
    return this.call("GET", "/gateways");
  }
  restartGateway(id: string): Promise<GatewayInfo> {
    return this.call("POST", `/gateways/${id}/restart`);
  }
  stopDirectory() {
    return this.call("POST", "/directory/stop");
  }
  startDirectory() {
    return this.call("POST", "/directory/start");
  }
}
