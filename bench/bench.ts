// `npm run bench`: performance side by side in one run (the machine is shared and noisy, so figures
// are ratios between systems measured in interleaved rounds). Prints everything, writes
// bench/results/bench.json and bench/charts/handshake-*.svg. `--smoke` runs a tiny version (CI).
// Benchmarks never fail on timing; they fail only when broken (a crash or no output).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { spawnSync } from "node:child_process";
import { ROOT, scratchDir, envoyBinary, WASM_ENVOY, WASM_HIGRESS, WASM_FLOOR, WASM_PROBE } from "../tools/lib/paths";
import { PodFleet } from "../tools/lib/pods";
import { sleep } from "../tools/lib/wait";
import { Layout, Endpoint } from "../tools/lib/envoy-config";
import { Gateway, startGateway } from "../tools/lib/gateway";
import { WasmVm, newProcess, UpstreamHost } from "../tools/lib/host-emulator";
import { EnvoySystem } from "../tools/lib/system";
import { startReplicas } from "../tools/lib/replicas";
import { groupedBars } from "./svg";
import { profilingVm, profileScenario, PROFILE_SCENARIOS, HandshakeProfile } from "../tools/lib/handshake-profile";
import { callgrindAvailable, callgrindWrapper, zeroCount, readCount } from "../tools/lib/callgrind";
import { browserHeaders } from "../tools/lib/clients";

interface Options {
  smoke: boolean;
  seconds: number;
  rounds: number;
  concurrency: number;
  /** Each round measures each system in this many alternating slices of seconds/slices (see gatewayBench). */
  slices: number;
  bigRooms: number;
  gatewayRooms: number;
  /** An earlier build of build/envoy.wasm, benchmarked beside the current one in the same rounds (before/after). */
  baseline: string;
}

function parse(argv: string[]): Options {
  // 11 interleaved rounds of 3 s per system, each cut into 6 slices of 0.5 s taken in turn: the machine's
  // speed drifts by 10-20% over tens of seconds, so verdicts come from medians with their spread, and the
  // slices keep the systems compared within a round close together in time.
  const o: Options = { smoke: false, seconds: 3, rounds: 11, concurrency: 32, slices: 6, bigRooms: 1_000_000, gatewayRooms: 100_000, baseline: "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--smoke") Object.assign(o, { smoke: true, seconds: 1, rounds: 1, concurrency: 8, slices: 2, bigRooms: 20_000, gatewayRooms: 2_000 });
    else if (a === "--seconds") o.seconds = Number(argv[++i]);
    else if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--concurrency") o.concurrency = Number(argv[++i]);
    else if (a === "--slices") o.slices = Number(argv[++i]);
    else if (a === "--big-rooms") o.bigRooms = Number(argv[++i]);
    else if (a === "--gateway-rooms") o.gatewayRooms = Number(argv[++i]);
    else if (a === "--baseline") o.baseline = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a} (options: --smoke --seconds N --rounds N --concurrency N --slices N --big-rooms N --gateway-rooms N --baseline OLD_ENVOY_WASM)`);
  }
  return o;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const UPGRADE_HEADERS = { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" };

/** One WebSocket handshake (upgrade -> 101 -> close); resolves with its latency in ms. */
function handshake(port: number, roomPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: "127.0.0.1", port, path: roomPath, headers: UPGRADE_HEADERS, agent: false });
    req.on("upgrade", (_res, socket) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      socket.destroy();
      resolve(ms);
    });
    req.on("response", (res) => {
      res.resume();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    req.on("error", reject);
    req.end();
  });
}

interface LoadResult {
  handshakes: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** What one stretch of load saw: every handshake's latency (ms) and the failures. */
interface LoadSample {
  latencies: number[];
  errors: number;
}

/**
 * Closed loop: `concurrency` clients doing handshakes for `until.seconds` or until `until.handshakes` were
 * sent, over a pool of `rooms` rooms named `prefix` + number; `counter` carries the numbering on from one
 * stretch to the next (new rooms stay new).
 */
async function loadSample(port: number, until: { seconds?: number; handshakes?: number }, concurrency: number, rooms: number, prefix: string, counter = { n: 0 }): Promise<LoadSample> {
  const latencies: number[] = [];
  let errors = 0;
  const end = until.seconds === undefined ? Infinity : Date.now() + until.seconds * 1000;
  const limit = until.handshakes ?? Infinity;
  let sent = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end && sent < limit) {
      sent++;
      const room = counter.n++ % rooms;
      try {
        latencies.push(await handshake(port, `/ws?appId=bench&roomId=${prefix}${room}`));
      } catch {
        errors++;
      }
    }
  }));
  return { latencies, errors };
}

/** Stretches of load taken as one measurement lasting `seconds` in all. */
function summarise(samples: LoadSample[], seconds: number): LoadResult {
  const lat = samples.flatMap((x) => x.latencies).sort((a, b) => a - b);
  return { handshakes: lat.length, errors: samples.reduce((n, x) => n + x.errors, 0), perSecond: lat.length / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Closed loop: `concurrency` clients doing handshakes for `seconds`, over a pool of `rooms` rooms. */
async function load(port: number, seconds: number, concurrency: number, rooms: number, prefix: string): Promise<LoadResult> {
  return summarise([await loadSample(port, { seconds }, concurrency, rooms, prefix)], seconds);
}

function envoyVersion(): string {
  const r = spawnSync(envoyBinary(), ["--version"], { encoding: "utf8" });
  return (r.stdout.match(/version: \S+\/([\d.]+)\//) ?? [])[1] ?? "unknown";
}

function rssKb(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number((s.match(/VmRSS:\s+(\d+)/) ?? [])[1] ?? NaN);
}

// ------------------------------------------------------------------ gateway: handshakes

interface Variant {
  name: string;
  label: string;
  layout: Partial<Layout>;
}

/** The systems of the handshake benchmark; the middle ones attribute the plugin's cost step by step. */
const VARIANTS: Variant[] = [
  { name: "roundrobin", label: "Envoy round robin, no filter", layout: { plugin: false, statefulSession: false } },
  { name: "maglev", label: "Envoy MAGLEV query hashing", layout: { plugin: false, statefulSession: false, lbPolicy: "MAGLEV", hashQueryParams: ["appId", "roomId"] } },
  { name: "stateful-only", label: "Envoy + stateful_session only (no wasm)", layout: { plugin: false, statefulSession: true } },
  { name: "floor", label: "Envoy + floor wasm filter (hooks only return) + stateful_session", layout: { wasmPath: WASM_FLOOR } },
  // The same system twice, as two Envoys: how far two identical systems differ is the noise of every difference.
  { name: "floor-again", label: "the floor again, as its own Envoy (A/A control)", layout: { wasmPath: WASM_FLOOR } },
  { name: "wasm-passthrough", label: "Envoy + wasm filter that finds no key + stateful_session", layout: { pluginConfig: JSON.stringify({ keyParams: ["never"] }) } },
  { name: "plugin", label: "Envoy + room-affinity (joins of pinned rooms)", layout: {} },
];

/**
 * The systems in the order a round measures them: forward in even rounds, backward in odd ones, so a
 * machine that speeds up or slows down across a round favours no system over the rounds.
 */
function inRoundOrder<T>(systems: T[], round: number): T[] {
  return round % 2 === 0 ? systems : [...systems].reverse();
}

/**
 * CPU time a process has used, all its threads, in microseconds: the scheduler's own nanosecond
 * accounting (/proc/PID/task/TID/schedstat), not /proc/PID/stat's 10 ms clock ticks. Envoy's threads
 * live as long as Envoy, so none exits between two readings.
 */
function cpuMicros(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // A thread that has just exited: its time is no longer anyone's to count.
    }
  }
  return ns / 1000;
}

/**
 * One round of a comparison: each entry measured in `slices` slices taken in turn (order reversed every
 * other slice, and every other round), `measure` adding what one slice saw to the entry's sums. The
 * machine's speed drifts by 10-20% over tens of seconds; slices keep the entries of a round within a few
 * seconds of each other, so the drift hits them alike.
 */
async function slicedRound<E>(entries: E[], round: number, slices: number, measure: (e: E) => Promise<void>): Promise<void> {
  for (let k = 0; k < slices; k++) {
    for (const e of inRoundOrder(entries, round * slices + k)) await measure(e);
  }
}

interface Spread {
  median: number;
  min: number;
  max: number;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** Median with its min-max spread over the rounds. */
function spreadOf(xs: number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

interface Measured extends LoadResult {
  envoyCpuUsPerHandshake: number;
}

/** The variants of this run: with --baseline, the earlier build runs beside the plugin in every round. */
function variantsOf(o: Options): Variant[] {
  if (!o.baseline) return VARIANTS;
  const baseline: Variant = { name: "plugin-baseline", label: `Envoy + room-affinity, baseline build (${path.basename(o.baseline)})`, layout: { wasmPath: o.baseline } };
  return [...VARIANTS.slice(0, -1), baseline, VARIANTS[VARIANTS.length - 1]];
}

async function gatewayBench(o: Options, endpoints: Endpoint[]) {
  const running: { v: Variant; gw: Gateway; port: number }[] = [];
  const variants = variantsOf(o);
  let port = 23000;
  try {
    for (const v of variants) {
      const gw = await startGateway({
        name: `bench-${v.name}`, listenPort: port, adminPort: port + 1, endpoints, layout: v.layout,
        start: { logLevel: "warning", wasmLogLevel: "info" },
      });
      running.push({ v, gw, port });
      port += 10;
    }
    await running[running.length - 1].gw.waitMembership(endpoints.length);
    const rounds: Record<string, Measured[]> = Object.fromEntries([...variants.map((v) => v.name), "plugin-new-rooms"].map((n) => [n, []]));
    // What a round measures: every system on joins of the pinned pool, and the plugin on new rooms (the
    // write path: learning the pod on the 101, a CAS insert), numbered on across slices and rounds.
    const plugin = running[running.length - 1];
    const entries = [
      ...running.map((r) => ({ name: r.v.name, r, rooms: 1000, prefix: "w", counter: { n: 0 } })),
      { name: "plugin-new-rooms", r: plugin, rooms: 1e12, prefix: "new", counter: { n: 0 } },
    ];
    // Warm-up: pins the room pool in the plugin's table, and warms connections everywhere.
    for (const r of running) await load(r.port, 1, o.concurrency, 1000, "w");
    const sliceSeconds = o.seconds / o.slices;
    for (let round = 0; round < o.rounds; round++) {
      const sums = new Map(entries.map((e) => [e.name, { samples: [] as LoadSample[], cpuUs: 0 }]));
      await slicedRound(entries, round, o.slices, async (e) => {
        const sum = sums.get(e.name)!;
        const c0 = cpuMicros(e.r.gw.envoy.proc.pid!);
        sum.samples.push(await loadSample(e.r.port, { seconds: sliceSeconds }, o.concurrency, e.rooms, e.prefix, e.counter));
        sum.cpuUs += cpuMicros(e.r.gw.envoy.proc.pid!) - c0;
      });
      for (const e of entries) {
        const sum = sums.get(e.name)!;
        const m = summarise(sum.samples, o.seconds);
        rounds[e.name].push({ ...m, envoyCpuUsPerHandshake: sum.cpuUs / Math.max(1, m.handshakes) });
        console.log(`round ${round + 1} ${e.name.padEnd(16)} ${m.perSecond.toFixed(0).padStart(6)} handshakes/s  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms  Envoy CPU ${(sum.cpuUs / Math.max(1, m.handshakes)).toFixed(1)} us/handshake  errors ${m.errors}`);
      }
    }
    const summary: Record<string, { label: string; perSecond: number; p50: number; p99: number; errors: number; envoyCpuUsPerHandshake: number; cpuSpread: Spread }> = {};
    for (const [k, rs] of Object.entries(rounds)) {
      summary[k] = {
        label: variants.find((v) => v.name === k)?.label ?? "Envoy + room-affinity (every join a new room)",
        perSecond: median(rs.map((r) => r.perSecond)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((n, r) => n + r.errors, 0), envoyCpuUsPerHandshake: median(rs.map((r) => r.envoyCpuUsPerHandshake)),
        cpuSpread: spreadOf(rs.map((r) => r.envoyCpuUsPerHandshake)),
      };
    }
    // Ratios and differences within each round (both systems saw the same machine state), then the
    // median over the rounds with its min-max spread.
    const ratio = (a: string, b: string, f: (r: Measured) => number) => spreadOf(rounds[a].map((r, i) => f(r) / f(rounds[b][i])));
    const diff = (a: string, b: string, f: (r: Measured) => number) => spreadOf(rounds[a].map((r, i) => f(r) - f(rounds[b][i])));
    const cpu = (r: Measured) => r.envoyCpuUsPerHandshake;
    return {
      summary,
      throughputVsMaglev: ratio("plugin", "maglev", (r) => r.perSecond),
      throughputVsRoundRobin: ratio("plugin", "roundrobin", (r) => r.perSecond),
      p99AddedVsMaglevMs: diff("plugin", "maglev", (r) => r.p99),
      p50AddedVsMaglevMs: diff("plugin", "maglev", (r) => r.p50),
      p99AddedVsRoundRobinMs: diff("plugin", "roundrobin", (r) => r.p99),
      cpuAddedVsMaglevUs: diff("plugin", "maglev", cpu),
      // The A/A control: two identical systems, so any difference is the method's noise.
      control: {
        cpuUs: diff("floor-again", "floor", cpu),
        throughputRatio: ratio("floor-again", "floor", (r) => r.perSecond),
        p99Ms: diff("floor-again", "floor", (r) => r.p99),
      },
      // Attribution, one step at a time (Envoy CPU per handshake).
      cpuStatefulSessionUs: diff("stateful-only", "roundrobin", cpu),
      cpuEnvoyWasmUs: diff("floor", "stateful-only", cpu),
      cpuNoKeyPassUs: diff("wasm-passthrough", "floor", cpu),
      cpuKeyTablePinUs: diff("plugin", "wasm-passthrough", cpu),
      cpuPluginOverFloorUs: diff("plugin", "floor", cpu),
      // Before/after, when an earlier build ran beside this one.
      baseline: o.baseline ? {
        build: path.basename(o.baseline),
        cpuChangeUs: diff("plugin", "plugin-baseline", cpu),
        throughputRatio: ratio("plugin", "plugin-baseline", (r) => r.perSecond),
        p99ChangeMs: diff("plugin", "plugin-baseline", (r) => r.p99),
        baselineOverFloorUs: diff("plugin-baseline", "floor", cpu),
      } : null,
    };
  } finally {
    for (const r of running) await r.gw.close();
  }
}

// ------------------------------------------------------------------ gateway: what each host call costs Envoy

/** Host calls the probe makes per request; enough that their cost stands out of the machine's noise. */
const PROBE_CALLS_PER_REQUEST = 20;
/** The host calls priced, as assembly/targets/probe.ts names them. */
const PROBED_CALLS = ["get_header", "get_header_absent", "replace_header", "remove_header", "get_property", "get_shared_data", "get_shared_data_empty", "increment_metric", "get_current_time", "get_header_pairs"];

/** Host calls priced in instructions besides the header reads: the rest of what a pinned join calls. */
const INSTRUCTION_PROBES = ["get_header_pairs", "get_property", "get_shared_data", "get_shared_data_empty", "replace_header", "get_current_time"];

/** A browser's handshake headers with a 908-byte cookie: what a join hands the gateway besides its path. */
const BROWSER_HEADERS = browserHeaders(20);

/**
 * Keyed keep-alive GETs over `concurrency` connections (rooms ka0..ka999), for `seconds` or until
 * `requests` were sent; resolves with the number answered 200. No connection set-up per request, so
 * the filter's share of each is larger than in a handshake.
 */
async function keepAliveLoad(port: number, until: { seconds?: number; requests?: number }, concurrency: number, headers: Record<string, string> = {}): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let n = 0;
  const get = () => new Promise<boolean>((resolve) => {
    http.get({ host: "127.0.0.1", port, path: `/ka?appId=bench&roomId=ka${n++ % 1000}`, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    }).on("error", () => resolve(false));
  });
  let ok = 0;
  const end = until.seconds === undefined ? Infinity : Date.now() + until.seconds * 1000;
  const limit = until.requests ?? Infinity;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (Date.now() < end && n < limit) if (await get()) ok++; }));
  agent.destroy();
  return ok;
}

/**
 * The price of each host call through real Envoy: the probe (the floor plus PROBE_CALLS_PER_REQUEST
 * calls of one host function per request) against the floor, in interleaved rounds of keep-alive
 * requests; (probe - floor) / calls is one call's Envoy CPU, median and min..max over the rounds.
 */
async function hostCallCosts(o: Options, endpoints: Endpoint[]) {
  // The plugin too, on the same requests (websocketOnly off, so a keyed GET is a join; the warm-up pins
  // the rooms): its cost over the floor without connection set-up, beside the price list.
  const systems: { name: string; layout: Partial<Layout> }[] = [
    { name: "floor", layout: { wasmPath: WASM_FLOOR } },
    { name: "plugin", layout: { pluginConfig: JSON.stringify({ websocketOnly: false }) } },
    ...PROBED_CALLS.map((c) => ({ name: c, layout: { wasmPath: WASM_PROBE, pluginConfig: `${c}:${PROBE_CALLS_PER_REQUEST}` } })),
  ];
  const running: { name: string; gw: Gateway; port: number }[] = [];
  let port = 23400;
  try {
    for (const sys of systems) {
      const layout = sys.layout;
      const gw = await startGateway({
        name: `bench-probe-${sys.name}`, listenPort: port, adminPort: port + 1, endpoints, layout,
        start: { logLevel: "warning", wasmLogLevel: "info" },
      });
      running.push({ name: sys.name, gw, port });
      port += 10;
    }
    await running[1].gw.waitMembership(endpoints.length);
    const seconds = o.smoke ? 1 : 2;
    for (const r of running) await keepAliveLoad(r.port, { seconds: 1 }, o.concurrency); // warm-up
    const cpuPerRequest: Record<string, number[]> = Object.fromEntries(running.map((r) => [r.name, []]));
    for (let round = 0; round < o.rounds; round++) {
      const sums = new Map(running.map((r) => [r.name, { cpuUs: 0, requests: 0 }]));
      await slicedRound(running, round, o.slices, async (r) => {
        const sum = sums.get(r.name)!;
        const c0 = cpuMicros(r.gw.envoy.proc.pid!);
        sum.requests += await keepAliveLoad(r.port, { seconds: seconds / o.slices }, o.concurrency);
        sum.cpuUs += cpuMicros(r.gw.envoy.proc.pid!) - c0;
      });
      for (const r of running) {
        const sum = sums.get(r.name)!;
        cpuPerRequest[r.name].push(sum.cpuUs / Math.max(1, sum.requests));
      }
    }
    return {
      callsPerRequest: PROBE_CALLS_PER_REQUEST,
      seconds,
      floorUsPerRequest: spreadOf(cpuPerRequest.floor),
      pluginOverFloorUs: spreadOf(cpuPerRequest.plugin.map((x, i) => x - cpuPerRequest.floor[i])),
      perCallUs: Object.fromEntries(PROBED_CALLS.map((c) => [c, spreadOf(cpuPerRequest[c].map((x, i) => (x - cpuPerRequest.floor[i]) / PROBE_CALLS_PER_REQUEST))])),
    };
  } finally {
    for (const r of running) await r.gw.close();
  }
}

// ------------------------------------------------------------------ gateway: instructions per request

/**
 * The plugin's tick, kept out of counted windows: its work (membership fetch, sweep) is per second, not
 * per request, and a window lasts tens of seconds under valgrind. No membership fetch, a one-bucket sweep.
 */
const QUIET_TICK = { tickPeriodMs: 60000, adminCluster: "", sweepBucketsPerTick: 1 };

/** A handshake system's layout for counting: a plugin build gets the quiet tick on top of its own config. */
function countedLayout(v: Variant): Partial<Layout> {
  if (v.layout.plugin === false || v.layout.wasmPath === WASM_FLOOR) return v.layout;
  const own = v.layout.pluginConfig ? JSON.parse(v.layout.pluginConfig) : {};
  return { ...v.layout, pluginConfig: JSON.stringify({ ...own, ...QUIET_TICK }) };
}

/** A system counted under callgrind: its name in the results, and its Envoy's layout. */
interface CountedSystem {
  name: string;
  layout: Partial<Layout>;
}

/**
 * Envoy's instructions per unit of work (a request, a handshake) for each system, under callgrind: its
 * Envoy starts under valgrind, `warmUp` runs, then each of `windows` windows counts what `work` did
 * (`work` resolves with the units done and throws if any failed). Both get the system's own room counter,
 * so rooms are numbered on from the warm-up. Two systems run at a time, each keeping one core busy.
 * Resolves with each system's per-window counts.
 */
async function callgrindCounts(systems: CountedSystem[], endpoints: Endpoint[], c: { tag: string; firstPort: number; windows: number },
  warmUp: (port: number, rooms: { n: number }) => Promise<unknown>, work: (port: number, rooms: { n: number }, system: string) => Promise<number>): Promise<Record<string, number[]>> {
  const outDir = scratchDir(`bench-callgrind-${c.tag}`);
  const perUnit: Record<string, number[]> = {};
  const count = async (sys: CountedSystem, port: number) => {
    // No active health checks: under valgrind Envoy runs ~50x slower, a check can miss its 0.5 s timeout,
    // and one miss marks a pod unhealthy (a CI smoke run saw 196 of 200 requests refused); their traffic
    // would also be counted in the windows.
    const gw = await startGateway({
      name: `bench-${c.tag}-${sys.name.replace(/[^a-z0-9]+/g, "-")}`, listenPort: port, adminPort: port + 1, endpoints,
      layout: { ...sys.layout, healthCheck: false },
      start: { logLevel: "warning", wasmLogLevel: "info", wrapper: callgrindWrapper(outDir), readyTimeoutMs: 300_000 },
    });
    try {
      const pid = gw.envoy.proc.pid!;
      const rooms = { n: 0 };
      await warmUp(port, rooms);
      perUnit[sys.name] = [];
      for (let w = 0; w < c.windows; w++) {
        zeroCount(pid);
        const units = await work(port, rooms, sys.name);
        perUnit[sys.name].push(readCount(pid, outDir) / units);
      }
    } finally {
      await gw.close();
    }
  };
  for (let i = 0; i < systems.length; i += 2) {
    await Promise.all(systems.slice(i, i + 2).map((sys, k) => count(sys, c.firstPort + k * 10)));
  }
  return perUnit;
}

/**
 * Envoy's instructions per WebSocket handshake (connect, upgrade -> 101, close), under callgrind, for the
 * systems of the handshake rounds: their attribution in counts that do not move with the machine's speed.
 * User-space instructions only: the kernel's part of a connection (accept, connect, close) is not in them,
 * so they say how the systems differ, not what a handshake costs in all. Two systems run at a time.
 */
async function handshakeInstructions(o: Options, endpoints: Endpoint[]) {
  if (!callgrindAvailable()) throw new Error("valgrind with callgrind is needed for the instruction counts (npm run setup installs it)");
  const handshakes = o.smoke ? 50 : 500;
  const windows = o.smoke ? 1 : 3;
  const systems = variantsOf(o).filter((v) => v.name !== "floor-again" && (!o.smoke || v.name === "floor"))
    .map((v) => ({ name: v.name, layout: countedLayout(v) }));
  // Warm-up: pins the pool (rooms w0..w999) and lets V8 tier the module up; after 1,000 handshakes the
  // plugin's next 500 still counted ~7% more than the 500 after them (V8 compiling, on its threads).
  const warmUp = o.smoke ? 50 : 1500;
  const perHandshake = await callgrindCounts(systems, endpoints, { tag: "handshakes", firstPort: 23620, windows },
    (port, rooms) => loadSample(port, { handshakes: warmUp }, 4, 1000, "w", rooms),
    async (port, rooms, name) => {
      const ok = (await loadSample(port, { handshakes }, 4, 1000, "w", rooms)).latencies.length;
      if (ok !== handshakes) throw new Error(`${name}: ${ok} of ${handshakes} handshakes answered 101`);
      return ok;
    });
  const over = (a: string, b: string) => (perHandshake[a] && perHandshake[b] ? spreadOf(perHandshake[a].map((x) => x - median(perHandshake[b]))) : null);
  return {
    handshakesPerWindow: handshakes, windows, warmUpHandshakes: warmUp,
    perHandshake: Object.fromEntries(Object.entries(perHandshake).map(([k, v]) => [k, spreadOf(v)])),
    statefulSession: over("stateful-only", "roundrobin"),
    envoyWasm: over("floor", "stateful-only"),
    noKeyPass: over("wasm-passthrough", "floor"),
    keyTablePin: over("plugin", "wasm-passthrough"),
    pluginOverFloor: over("plugin", "floor"),
    pluginOverMaglev: over("plugin", "maglev"),
    baselineOverFloor: over("plugin-baseline", "floor"),
  };
}

/**
 * Envoy's instructions per keyed keep-alive request with a browser's headers, counted under callgrind:
 * the floor, the plugin (and the baseline build, if given), and the probe's dearest and cheapest header
 * reads. Counts do not depend on the machine's load, so they hold from run to run where CPU time does
 * not. The plugin's tick (membership fetch, sweep) costs per second, not per request: a 60 s tick keeps
 * it out of the counted windows. Two systems run at a time (each keeps one core busy).
 */
async function instructionCounts(o: Options, endpoints: Endpoint[]) {
  if (!callgrindAvailable()) throw new Error("valgrind with callgrind is needed for the instruction counts (npm run setup installs it)");
  const requests = o.smoke ? 200 : 2000;
  const windows = o.smoke ? 2 : 3;
  // The same GETs are joins when websocketOnly is off, and plain requests (not upgrades) when it is on.
  const joins = JSON.stringify({ websocketOnly: false, ...QUIET_TICK });
  const joinsWithoutCopies = JSON.stringify({ websocketOnly: false, ...QUIET_TICK, workerBucketCopies: 0 });
  const plain = JSON.stringify({ ...QUIET_TICK });
  const builds = [{ name: "plugin", wasmPath: WASM_ENVOY }, ...(o.baseline ? [{ name: "baseline", wasmPath: o.baseline }] : [])];
  const systems: CountedSystem[] = o.smoke ? [{ name: "floor", layout: { wasmPath: WASM_FLOOR } }] : [
    { name: "floor", layout: { wasmPath: WASM_FLOOR } },
    ...builds.flatMap((b) => [
      { name: `${b.name} join`, layout: { wasmPath: b.wasmPath, pluginConfig: joins } },
      { name: `${b.name} plain request`, layout: { wasmPath: b.wasmPath, pluginConfig: plain } },
    ]),
    { name: "plugin join, no bucket copies", layout: { wasmPath: WASM_ENVOY, pluginConfig: joinsWithoutCopies } },
    // Every host call a pinned join makes, priced in instructions (the CPU price list's noise-free twin).
    { name: "probe get_header", layout: { wasmPath: WASM_PROBE, pluginConfig: `get_header:${PROBE_CALLS_PER_REQUEST}` } },
    { name: "probe get_header absent", layout: { wasmPath: WASM_PROBE, pluginConfig: `get_header_absent:${PROBE_CALLS_PER_REQUEST}` } },
    ...INSTRUCTION_PROBES.map((c) => ({ name: `probe ${c}`, layout: { wasmPath: WASM_PROBE, pluginConfig: `${c}:${PROBE_CALLS_PER_REQUEST}` } })),
  ];
  const perRequest = await callgrindCounts(systems, endpoints, { tag: "requests", firstPort: 23600, windows },
    (port) => keepAliveLoad(port, { requests }, 4, BROWSER_HEADERS), // warm-up: pins every room, tiers up V8
    async (port, _rooms, name) => {
      const ok = await keepAliveLoad(port, { requests }, 4, BROWSER_HEADERS);
      if (ok !== requests) throw new Error(`${name}: ${ok} of ${requests} requests answered 200`);
      return ok;
    });
  // Over the floor's median: the floor's own windows differ by well under 1% (BENCHMARKS.md shows them).
  const floor = median(perRequest.floor);
  const over = Object.fromEntries(Object.entries(perRequest).filter(([k]) => k !== "floor" && !k.startsWith("probe"))
    .map(([k, v]) => [k, spreadOf(v.map((x) => x - floor))]));
  const perCall = Object.fromEntries(Object.entries(perRequest).filter(([k]) => k.startsWith("probe"))
    .map(([k, v]) => [k.replace(/^probe /, ""), spreadOf(v.map((x) => (x - floor) / PROBE_CALLS_PER_REQUEST))]));
  return {
    requestsPerWindow: requests, windows, headers: Object.keys(BROWSER_HEADERS).length, cookieBytes: BROWSER_HEADERS.cookie.length,
    callsPerRequest: PROBE_CALLS_PER_REQUEST,
    perRequest: Object.fromEntries(Object.entries(perRequest).map(([k, v]) => [k, spreadOf(v)])),
    overFloor: over, perCall,
  };
}

// ------------------------------------------------------------------ gateway: memory

async function gatewayMemory(o: Options, endpoints: Endpoint[]) {
  const sys = new EnvoySystem("plugin", 23030, 23031, scratchDir("bench-mem"), { websocketOnly: false });
  await sys.start(endpoints);
  try {
    const pid = sys.gw!.envoy.proc.pid!;
    // Plain keep-alive GETs pin rooms as fast as the gateway allows (websocketOnly: false).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const get = (room: number) => new Promise<void>((resolve) => {
      http.get({ host: "127.0.0.1", port: sys.port, path: `/p?appId=mem&roomId=${room}`, agent }, (res) => { res.resume(); res.on("end", resolve); }).on("error", () => resolve());
    });
    // Warm up allocator and connection pools before the baseline.
    for (let i = 0; i < 2000; i += 64) await Promise.all(Array.from({ length: 64 }, (_, k) => get(-1 - ((i + k) % 50))));
    await sleep(1000);
    const before = rssKb(pid);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => { while (next < o.gatewayRooms) await get(next++); }));
    const preloadS = (Date.now() - t0) / 1000;
    await sleep(3000);
    const after = rssKb(pid);
    const pins = await sys.gw!.stat("learned_total");
    agent.destroy();
    return { rooms: o.gatewayRooms, pins, rssBeforeKb: before, rssAfterKb: after, bytesPerRoom: ((after - before) * 1024) / pins, preloadSeconds: preloadS };
  } finally {
    await sys.stop();
  }
}

// ------------------------------------------------------------------ emulator: the plugin alone

const EMU_HOSTS = (): UpstreamHost[] => Array.from({ length: 6 }, (_, i) => ({ address: `10.0.0.${i + 1}:8080`, health: "Healthy" as const }));

async function emulatorBench(o: Options) {
  // Two VMs side by side, one with a small table and one with a big one, timed in alternating batches
  // (the ratio within each round, then its median and spread), so drift on the shared machine affects
  // both alike. Both without bucket copies: the scaling is the table's (with copies, 1k rooms fit the
  // copies and 1M rooms do not, which measures the copies). A third VM, 1k rooms with the default
  // copies, shows what copies save.
  const capacity = Math.max(1_048_576, o.bigRooms);
  const load = async (workerBucketCopies?: number) => {
    const p = newProcess(EMU_HOSTS());
    const v = await WasmVm.load(WASM_HIGRESS, p, true);
    if (!v.configure({ capacity, ...(workerBucketCopies === undefined ? {} : { workerBucketCopies }) })) throw new Error(JSON.stringify(v.logs));
    return { proc: p, vm: v };
  };
  const small = await load(0);
  const big = await load(0);
  const smallCopies = await load();
  const { proc, vm } = big;
  const timeHits = (v: WasmVm, rooms: number, n: number) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) v.request({ path: `/ws?appId=e&roomId=${(i * 7919) % rooms}` });
    return Number(process.hrtime.bigint() - t0) / 1e3 / n;
  };
  const preload = (v: WasmVm, from: number, to: number) => {
    const t0 = Date.now();
    for (let i = from; i < to; i++) v.request({ path: `/ws?appId=e&roomId=${i}` });
    return (Date.now() - t0) / 1000;
  };
  const n = o.smoke ? 5000 : 100_000;
  preload(small.vm, 0, 1000);
  preload(smallCopies.vm, 0, 1000);
  const preloadSeconds = preload(vm, 0, o.bigRooms);
  timeHits(small.vm, 1000, n / 4); // warm the JIT and the VMs
  timeHits(smallCopies.vm, 1000, n / 4);
  timeHits(vm, o.bigRooms, n / 4);
  // Rounds of one batch per VM, order reversed every other round; the scaling is the ratio within each
  // round, judged on its median and spread like the gateway's figures (two runs of a minimum of five
  // batches gave 1.29x and 1.06x).
  const smallRuns: number[] = [];
  const copiesRuns: number[] = [];
  const bigRuns: number[] = [];
  const batches: [number[], WasmVm, number][] = [[smallRuns, small.vm, 1000], [copiesRuns, smallCopies.vm, 1000], [bigRuns, vm, o.bigRooms]];
  for (let r = 0; r < (o.smoke ? 1 : o.rounds); r++) {
    for (const [runs, v, rooms] of inRoundOrder(batches, r)) runs.push(timeHits(v, rooms, n));
  }
  const usPerHitSmall = median(smallRuns);
  const usPerHitCopies = median(copiesRuns);
  const usPerHitBig = median(bigRuns);
  const scalingSpread = spreadOf(bigRuns.map((x, i) => x / smallRuns[i]));

  // Shared data held for the table: buckets and their stamps, keys and values only (Envoy adds its
  // map-node overhead per key).
  let payload = 0;
  let buckets = 0;
  let stamps = 0;
  for (const [k, v] of proc.shared.map) {
    const bucket = k.startsWith("room-affinity:t:");
    if (!bucket && !k.startsWith("room-affinity:s:")) continue;
    payload += k.length + v.value.length;
    if (bucket) buckets++;
    else stamps++;
  }
  const rooms = proc.metrics.get("room_affinity.learned_total");
  // libstdc++ unordered_map<string, pair<string, uint32_t>> node: 2 strings (32 B each), cas, next
  // pointer and cached hash (~88 B), plus the heap blocks of key and value (payload, rounded up).
  const perKeyOverhead = 88 + 16;
  const bytesPerRoom = (payload + (buckets + stamps) * perKeyOverhead) / rooms;

  // Sweep cost at this fill: steady-state passes (sweepBucketsPerTick buckets), then the urgent
  // passes that follow a pod's removal (half the table each), which also give the eviction latency.
  const steadyMs: number[] = [];
  for (let t = 0; t < 4; t++) {
    proc.nowMs += 1000;
    const t0 = process.hrtime.bigint();
    vm.tick();
    steadyMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const steadyWindow = 1024;
  const urgentWindow = Math.ceil(Math.ceil(Math.max(1_048_576, o.bigRooms) / 8) / 2);
  const victim = proc.hosts[5].address;
  proc.hosts.splice(5, 1);
  proc.nowMs += 1001;
  vm.request({ path: "/ws?appId=e&roomId=0" }); // refreshes the host view (Higress reads it in streams)
  const goneBefore = proc.metrics.get("room_affinity.evictions.pod_gone_total");
  const urgentMs: number[] = [];
  let ticks = 0;
  for (; ticks < 10; ticks++) {
    proc.nowMs += 1000;
    const t0 = process.hrtime.bigint();
    vm.tick();
    if (ticks < 2) urgentMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    let leftNow = 0;
    for (const [k, v] of proc.shared.map) if (k.startsWith("room-affinity:t:") && v.value.includes(Buffer.from(victim))) { leftNow++; break; }
    if (leftNow === 0) { ticks++; break; }
  }
  let left = 0;
  for (const [k, v] of proc.shared.map) if (k.startsWith("room-affinity:t:") && v.value.includes(Buffer.from(victim))) left++;
  return {
    build: "higress.wasm (host emulator)",
    roomsSmall: 1000,
    roomsBig: o.bigRooms,
    rounds: smallRuns.length,
    usPerHitSmall,
    usPerHitCopies,
    usPerHitBig,
    scaling: scalingSpread.median,
    scalingSpread,
    preloadSeconds,
    usPerPin: (preloadSeconds * 1e6) / o.bigRooms,
    tableBytes: payload,
    buckets,
    stamps,
    bytesPerRoomPayload: payload / rooms,
    bytesPerRoomEstimated: bytesPerRoom,
    sweepSteadyWindow: steadyWindow,
    sweepSteadyMs: steadyMs,
    sweepUrgentWindow: urgentWindow,
    sweepUrgentMs: urgentMs,
    evictedRooms: proc.metrics.get("room_affinity.evictions.pod_gone_total") - goneBefore,
    evictionTicks: ticks,
    bucketsStillHoldingVictim: left,
  };
}

// ------------------------------------------------------------------ emulator: what a handshake asks of the host

/**
 * Per kind of request, through both builds: host calls by name and values handed back (exact counts),
 * and the module's own time per handshake (median, min..max over the rounds, scenarios interleaved).
 * The floor build runs the same way: its "module time" is the measuring overhead alone.
 */
async function profileBench(o: Options) {
  const n = o.smoke ? 500 : 20_000;
  const builds = [
    { name: "envoy.wasm", vm: await profilingVm(WASM_ENVOY, false) },
    { name: "higress.wasm", vm: await profilingVm(WASM_HIGRESS, true) },
    { name: "floor.wasm", vm: await profilingVm(WASM_FLOOR, false, false) },
  ];
  const times: Record<string, number[]> = {};
  const rows: Record<string, HandshakeProfile> = {};
  for (let round = 0; round <= o.rounds; round++) {
    for (const sc of PROFILE_SCENARIOS) {
      for (const b of builds) {
        const p = profileScenario(b.vm, sc, n);
        if (round === 0) continue; // warm-up: JIT tiers and caches
        (times[`${b.name} ${sc}`] ??= []).push(p.moduleUs);
        rows[`${b.name} ${sc}`] = p;
      }
    }
  }
  return Object.entries(rows).map(([k, p]) => ({ build: k.split(" ")[0], ...p, moduleUs: spreadOf(times[k]) }));
}

// ------------------------------------------------------------------ the room directory (two replicas, real etcd)

/**
 * What the directory costs a join: a room this replica does not know (a directory round trip before the
 * upgrade goes on) against a local hit, measured pairwise (miss, then hit, of the same room, through the
 * same replica) so noise hits both alike; and directory requests per join under a steady load of joins
 * of known rooms (expected: about one refresh per room per replica per refresh interval, not one per join).
 */
async function directoryBench(o: Options) {
  const refreshSeconds = 5;
  const set = await startReplicas({ name: "bench-directory", basePort: 23200, directoryConfig: { refreshSeconds } });
  try {
    const [gwA, gwB] = set.gateways;
    const rooms = o.smoke ? 40 : 600;
    const missMs: number[] = [];
    const hitMs: number[] = [];
    // Rooms placed through replica B (so they are in the directory), then joined through replica A.
    for (let i = 0; i < rooms; i++) await handshake(gwB.port, `/ws?appId=dir&roomId=r${i}`);
    for (let i = 0; i < rooms; i++) {
      missMs.push(await handshake(gwA.port, `/ws?appId=dir&roomId=r${i}`));
      hitMs.push(await handshake(gwA.port, `/ws?appId=dir&roomId=r${i}`));
    }
    missMs.sort((a, b) => a - b);
    hitMs.sort((a, b) => a - b);
    const found = await gwA.stat("directory.found_total");
    // Steady load: joins of a pool of known rooms through the balancer for a while.
    const pool = o.smoke ? 50 : 500;
    for (let i = 0; i < pool; i++) await handshake(set.port, `/ws?appId=steady&roomId=s${i}`);
    await sleep(1500);
    const before = { waits: await set.stat("directory.waits_total"), writes: await set.stat("directory.writes_total") };
    const seconds = o.smoke ? 3 : 20;
    const steady = await load(set.port, seconds, o.concurrency, pool, "s");
    const requests = (await set.stat("directory.waits_total")) - before.waits + (await set.stat("directory.writes_total")) - before.writes;
    return {
      rooms, refreshSeconds, found,
      missP50: percentile(missMs, 50), missP99: percentile(missMs, 99), hitP50: percentile(hitMs, 50), hitP99: percentile(hitMs, 99),
      steadySeconds: seconds, steadyRooms: pool, steadyJoins: steady.handshakes, directoryRequests: requests,
      requestsPerJoin: requests / Math.max(1, steady.handshakes),
      // Each replica looks a room up once (the first time it sees it), then refreshes it once per interval.
      expectedBound: (pool * set.gateways.length * (Math.ceil(seconds / refreshSeconds) + 1)) / Math.max(1, steady.handshakes),
    };
  } finally {
    await set.close();
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const started = new Date();
  console.log(`bench: ${o.smoke ? "SMOKE " : ""}Envoy ${envoyVersion()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), node ${process.version}`);
  const emu = await emulatorBench(o);
  console.log(`emulator: ${emu.usPerHitSmall.toFixed(2)} us/join at ${emu.roomsSmall} rooms, ${emu.usPerHitBig.toFixed(2)} us/join at ${emu.roomsBig} rooms (x${emu.scaling.toFixed(2)} (${emu.scalingSpread.min.toFixed(2)}..${emu.scalingSpread.max.toFixed(2)}) over ${emu.rounds} rounds, bucket copies off); ${emu.usPerHitCopies.toFixed(2)} us/join at ${emu.roomsSmall} rooms with bucket copies; ${emu.usPerPin.toFixed(2)} us/new room`);
  console.log(`emulator: table ${emu.tableBytes} B in ${emu.buckets} buckets = ${emu.bytesPerRoomPayload.toFixed(1)} B/room payload, ~${emu.bytesPerRoomEstimated.toFixed(1)} B/room with Envoy's map overhead`);
  console.log(`emulator: sweep pass, steady (${emu.sweepSteadyWindow} buckets) ${emu.sweepSteadyMs.map((x) => x.toFixed(1)).join(", ")} ms; after a pod left (${emu.sweepUrgentWindow} buckets) ${emu.sweepUrgentMs.map((x) => x.toFixed(1)).join(", ")} ms`);
  console.log(`emulator: removed pod's ${emu.evictedRooms} rooms evicted in ${emu.evictionTicks} ticks (${emu.bucketsStillHoldingVictim} buckets still hold it)`);

  const profile = await profileBench(o);
  for (const p of profile) {
    console.log(`profile: ${p.build.padEnd(12)} ${p.scenario.padEnd(13)} ${p.hostCalls.toFixed(2)} host calls (${Object.entries(p.calls).map(([k, v]) => `${k} ${+v.toFixed(3)}`).join(", ")}), ${p.allocations.toFixed(2)} values handed back, module ${p.moduleUs.median.toFixed(2)} us (${p.moduleUs.min.toFixed(2)}..${p.moduleUs.max.toFixed(2)})`);
  }

  const fleet = new PodFleet(23100);
  await fleet.start(3, "bench");
  let gw;
  let mem;
  let costs;
  let ir;
  let hsIr;
  try {
    gw = await gatewayBench(o, fleet.endpoints());
    const sp = (x: Spread, d = 3) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})`;
    console.log(`gateway: plugin throughput x${sp(gw.throughputVsMaglev)} of MAGLEV, x${sp(gw.throughputVsRoundRobin)} of round robin; p99 added vs MAGLEV ${sp(gw.p99AddedVsMaglevMs)} ms, p50 added ${sp(gw.p50AddedVsMaglevMs)} ms`);
    if (gw.baseline) console.log(`gateway: against the baseline build ${gw.baseline.build}: Envoy CPU ${sp(gw.baseline.cpuChangeUs, 1)} us per handshake, throughput x${sp(gw.baseline.throughputRatio)}, p99 ${sp(gw.baseline.p99ChangeMs)} ms; baseline over the floor ${sp(gw.baseline.baselineOverFloorUs, 1)} us`);
    console.log(`gateway: A/A control (the floor against itself): Envoy CPU ${sp(gw.control.cpuUs, 1)} us per handshake, throughput x${sp(gw.control.throughputRatio)}, p99 ${sp(gw.control.p99Ms)} ms`);
    console.log(`gateway: Envoy CPU per handshake: stateful_session ${sp(gw.cpuStatefulSessionUs, 1)}, Envoy's wasm machinery (floor) ${sp(gw.cpuEnvoyWasmUs, 1)}, plugin over the floor ${sp(gw.cpuPluginOverFloorUs, 1)} us (no-key pass ${sp(gw.cpuNoKeyPassUs, 1)}, key+table+pin ${sp(gw.cpuKeyTablePinUs, 1)})`);
    costs = await hostCallCosts(o, fleet.endpoints());
    console.log(`keep-alive: plugin over the floor ${sp(costs.pluginOverFloorUs, 1)} us of Envoy CPU per join (floor ${sp(costs.floorUsPerRequest, 1)} us per request)`);
    for (const [c, x] of Object.entries(costs.perCallUs)) console.log(`host call: ${c.padEnd(18)} ${sp(x, 2)} us of Envoy CPU per call (keep-alive requests, ${costs.callsPerRequest} calls each, against the floor)`);
    ir = await instructionCounts(o, fleet.endpoints());
    const si = (x: Spread | null) => (x ? `${Math.round(x.median)} (${Math.round(x.min)}..${Math.round(x.max)})` : "-");
    for (const [k, v] of Object.entries(ir.perRequest)) console.log(`instructions: ${k.padEnd(18)} ${si(v)} per request (callgrind, ${ir.windows} windows of ${ir.requestsPerWindow})`);
    for (const [k, v] of Object.entries(ir.overFloor)) console.log(`instructions: ${k} over the floor ${si(v)} per request`);
    for (const [k, v] of Object.entries(ir.perCall)) console.log(`instructions: one ${k} ${si(v)}`);
    hsIr = await handshakeInstructions(o, fleet.endpoints());
    for (const [k, v] of Object.entries(hsIr.perHandshake)) console.log(`instructions: ${k.padEnd(18)} ${si(v)} per handshake (callgrind, ${hsIr.windows} windows of ${hsIr.handshakesPerWindow})`);
    console.log(`instructions per handshake: plugin over the floor ${si(hsIr.pluginOverFloor)} (no-key pass ${si(hsIr.noKeyPass)}, key+table+pin ${si(hsIr.keyTablePin)}); floor over stateful_session ${si(hsIr.envoyWasm)}`);
    mem = await gatewayMemory(o, fleet.endpoints());
    console.log(`gateway: ${mem.pins} rooms pinned through Envoy in ${mem.preloadSeconds.toFixed(1)} s; RSS ${mem.rssBeforeKb} -> ${mem.rssAfterKb} kB = ${mem.bytesPerRoom.toFixed(1)} B/room`);
  } finally {
    await fleet.stopAll();
  }
  const dir = await directoryBench(o);
  console.log(`directory: join of a room this replica does not know p50 ${dir.missP50.toFixed(2)} ms, p99 ${dir.missP99.toFixed(2)} ms; local hit p50 ${dir.hitP50.toFixed(2)} ms, p99 ${dir.hitP99.toFixed(2)} ms (${dir.rooms} rooms, ${dir.found} found in the directory)`);
  console.log(`directory: steady load ${dir.steadyJoins} joins of ${dir.steadyRooms} known rooms in ${dir.steadySeconds} s: ${dir.directoryRequests} directory requests = ${dir.requestsPerJoin.toFixed(4)} per join (bound: one lookup per room per replica, then one refresh per ${dir.refreshSeconds} s: ${dir.expectedBound.toFixed(4)})`);

  const result = {
    date: started.toISOString(),
    smoke: o.smoke,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?", memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, envoy: envoyVersion() },
    method: { seconds: o.seconds, rounds: o.rounds, slices: o.slices, concurrency: o.concurrency, roomPool: 1000 },
    gateway: gw,
    hostCallCosts: costs,
    instructions: ir,
    handshakeInstructions: hsIr,
    memory: mem,
    emulator: emu,
    profile,
    directory: dir,
  };
  if (!o.smoke) {
    fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "bench", "results", "bench.json"), JSON.stringify(result, null, 2) + "\n");
    fs.mkdirSync(path.join(ROOT, "bench", "charts"), { recursive: true });
    const names = ["roundrobin", "maglev", "stateful-only", "wasm-passthrough", "plugin", "plugin-new-rooms"];
    fs.writeFileSync(path.join(ROOT, "bench", "charts", "handshake-latency.svg"), groupedBars(
      "WebSocket handshake latency through Envoy (median of rounds)", "ms", ["p50", "p99"],
      names.map((n) => ({ name: n, values: [gw!.summary[n].p50, gw!.summary[n].p99] })),
    ));
    fs.writeFileSync(path.join(ROOT, "bench", "charts", "handshake-throughput.svg"), groupedBars(
      "WebSocket handshakes per second through Envoy (median of rounds)", "handshakes/s", names,
      [{ name: "handshakes/s", values: names.map((n) => gw!.summary[n].perSecond) }],
    ));
    console.log("wrote bench/results/bench.json, bench/charts/handshake-latency.svg, bench/charts/handshake-throughput.svg");
  } else {
    console.log(JSON.stringify(result).slice(0, 400));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
