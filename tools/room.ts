// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// `npm run room -- --app a1 --room r9 [--path /ws] [--config plugin.json] [--cluster NAME]
//                  [--etcd URL | --redis HOST:PORT] [--admin HOST:PORT] [--json]`
// Which pod is room X on? Prints the room's key, its hash, its key in the room directory and the pod the
// directory holds, and, given a gateway's admin address, whether that pod is a usable member there.
// The key and the hashes come from the plugin itself (build/envoy.wasm run in the host emulator with
// the given configuration), never from a second implementation that could drift from it.
import fs from "node:fs";
import { WasmVm, newProcess } from "./lib/host-emulator";
import { WASM_ENVOY } from "./lib/paths";
import { CLUSTER, HASH_HEADER } from "./lib/envoy-config";
import { redisCommand } from "./lib/redis";
import { clusterHosts } from "./lib/envoy";

export const ROOM_USAGE = `npm run room -- [flags]

Which pod is a room on. The room:
  --app ID --room ID      the appId and roomId query parameters (the default key parameters)
  --param NAME=VALUE      a key parameter by name (repeat for each; for other keyParams)
  --path PATH             the WebSocket path (default /ws)
  --config FILE           the plugin configuration (JSON, as deployed): keyParams, hashHeader, directory.keyPrefix
  --cluster NAME          the routed cluster, as the gateway names it (default ${CLUSTER}; Higress:
                          outbound|<port>||<service FQDN>)
Where to look:
  --etcd URL              the etcd room directory (e.g. http://127.0.0.1:2379)
  --redis HOST:PORT       the Redis room directory; --redis-password, --redis-user, --redis-db as configured
  --admin HOST:PORT       a gateway's Envoy admin: is the room's pod a usable member of the cluster there
  --json                  one JSON object instead of lines`;

export interface RoomQuery {
  path: string;
  params: [string, string][];
  config: Record<string, any>;
  cluster: string;
  etcd?: string;
  redis?: { host: string; port: number; password?: string; username?: string; database?: number };
  admin?: { host: string; port: number };
}

export interface RoomAnswer {
  /** What the plugin decided for such a request: new (a key), passed or rejected (no usable key). */
  decision: string;
  key?: string;
  /** The value of the hash header the gateway's consistent hash places a new room by. */
  hash?: string;
  directoryKey?: string;
  /** The pod the directory holds ("" when the directory has no such room). */
  directoryPod?: string;
  /** The pod's state in the gateway's cluster: healthy, draining, unhealthy, removing, or absent. */
  gatewayState?: string;
}

class UsageError extends Error {}

export function parseRoomArgs(argv: string[]): RoomQuery & { json: boolean } {
  const q: RoomQuery & { json: boolean } = { path: "/ws", params: [], config: {}, cluster: CLUSTER, json: false };
  const hostPort = (flag: string, v: string | undefined) => {
    const m = /^([^:\s]+):(\d{1,5})$/.exec(v ?? "");
    if (!m) throw new UsageError(`${flag} takes HOST:PORT, got ${JSON.stringify(v ?? null)}`);
    return { host: m[1], port: Number(m[2]) };
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--app") q.params.push(["appId", next()]);
    else if (a === "--room") q.params.push(["roomId", next()]);
    else if (a === "--param") {
      const v = next();
      const eq = v.indexOf("=");
      if (eq <= 0) throw new UsageError(`--param takes NAME=VALUE, got ${JSON.stringify(v)}`);
      q.params.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (a === "--path") q.path = next();
    else if (a === "--config") {
      const file = next();
      try {
        q.config = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (e) {
        throw new UsageError(`--config ${file}: ${e instanceof Error ? e.message : e}`);
      }
    } else if (a === "--cluster") q.cluster = next();
    else if (a === "--etcd") q.etcd = next().replace(/\/$/, "");
    else if (a === "--redis") q.redis = { ...q.redis, ...hostPort(a, argv[++i]) };
    else if (a === "--redis-password") q.redis = { ...(q.redis ?? { host: "", port: 0 }), password: next() };
    else if (a === "--redis-user") q.redis = { ...(q.redis ?? { host: "", port: 0 }), username: next() };
    else if (a === "--redis-db") q.redis = { ...(q.redis ?? { host: "", port: 0 }), database: Number(next()) };
    else if (a === "--admin") q.admin = hostPort(a, argv[++i]);
    else if (a === "--json") q.json = true;
    else throw new UsageError(`unknown flag ${a}`);
  }
  if (q.params.length === 0) throw new UsageError("name the room: --app ID --room ID, or --param NAME=VALUE");
  if (q.redis && !q.redis.host) throw new UsageError("--redis-password, --redis-user and --redis-db go with --redis HOST:PORT");
  return q;
}

/** The key, hash and directory key the plugin computes for the room, under `q.config` and `q.cluster`. */
export async function roomKeys(q: RoomQuery): Promise<RoomAnswer> {
  const keyPrefix = q.config.directory?.keyPrefix;
  // The stock build computes them; a Redis directory has the same keys, so it is asked as an etcd one.
  const config = { ...q.config, adminCluster: "", logDecision: true, directory: keyPrefix ? { keyPrefix } : {} };
  const vm = await WasmVm.load(WASM_ENVOY, newProcess([], q.cluster), false);
  if (!vm.configure(config)) throw new UsageError(`the plugin refuses this configuration: ${vm.logs.find((l) => l.level === 4)?.message}`);
  const query = q.params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const p = vm.begin({ path: `${q.path}?${query}` });
  const decision = p.out.filterState.get("wasm.room_affinity_decision") ?? "passed";
  if (decision !== "new") return { decision };
  const lookup = vm.httpCalls.find((c) => c.body.includes('"key"'));
  const directoryKey = lookup ? Buffer.from(JSON.parse(lookup.body).key, "base64").toString("utf8") : undefined;
  const hashHeader = typeof q.config.hashHeader === "string" ? q.config.hashHeader : HASH_HEADER;
  return { decision, key: p.out.filterState.get("wasm.room_affinity_key"), hash: p.out.headers.get(hashHeader), directoryKey };
}

async function etcdGet(url: string, key: string): Promise<string> {
  const r = await fetch(`${url}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: Buffer.from(key).toString("base64") }),
    signal: AbortSignal.timeout(3000),
  });
  if (!r.ok) throw new Error(`etcd ${url}: HTTP ${r.status}`);
  const kvs = (await r.json()).kvs as { value?: string }[] | undefined;
  return kvs && kvs[0]?.value ? Buffer.from(kvs[0].value, "base64").toString("utf8") : "";
}

async function redisGet(to: NonNullable<RoomQuery["redis"]>, key: string): Promise<string> {
  const reply = await redisCommand(to, ["GET", key]);
  if (reply.startsWith("-")) throw new Error(`redis GET: ${reply.slice(1).trim()}`);
  if (reply.startsWith("$-1")) return "";
  return reply.split("\r\n")[1] ?? "";
}

export async function findRoom(q: RoomQuery): Promise<RoomAnswer> {
  const a = await roomKeys(q);
  if (!a.directoryKey) return a;
  if (q.etcd) a.directoryPod = await etcdGet(q.etcd, a.directoryKey);
  else if (q.redis) a.directoryPod = await redisGet(q.redis, a.directoryKey);
  if (q.admin && a.directoryPod) {
    const hosts = await clusterHosts(q.admin.port, q.cluster, q.admin.host);
    a.gatewayState = hosts.find((h) => h.address === a.directoryPod)?.state ?? "absent";
  }
  return a;
}

function describe(q: RoomQuery, a: RoomAnswer): string {
  if (a.decision !== "new")
    return `the plugin gives this request no room (${a.decision}): a key parameter is missing or empty, or the key is too long`;
  const lines = [
    `room key        ${a.key}`,
    `room hash       ${a.hash}   (the hash header's value)`,
    `routed cluster  ${q.cluster}`,
    `directory key   ${a.directoryKey}`,
  ];
  const where = q.etcd ? `etcd ${q.etcd}` : q.redis ? `redis ${q.redis.host}:${q.redis.port}` : "";
  if (where) lines.push(`directory       ${where}: ${a.directoryPod ? a.directoryPod : "no such room (new, or expired)"}`);
  if (a.gatewayState)
    lines.push(`gateway         ${q.admin!.host}:${q.admin!.port}: ${a.directoryPod} is ${a.gatewayState} in ${q.cluster}`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(ROOM_USAGE);
    return;
  }
  try {
    const q = parseRoomArgs(argv);
    const a = await findRoom(q);
    console.log(q.json ? JSON.stringify({ cluster: q.cluster, ...a }) : describe(q, a));
    if (a.decision !== "new") process.exitCode = 1;
  } catch (e) {
    console.error(`room: ${e instanceof Error ? e.message : e}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}

if (require.main === module) main();
