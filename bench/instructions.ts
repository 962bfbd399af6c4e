// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { scratchDir, WASM_ENVOY, WASM_FLOOR, WASM_PROBE } from "../tools/lib/paths";
import { Layout, Endpoint } from "../tools/lib/envoy-config";
import { startGateway } from "../tools/lib/gateway";
import { callgrindAvailable, callgrindWrapper, zeroCount, readCount } from "../tools/lib/callgrind";
import { Options, loadSample, Variant, median, spreadOf } from "./common";
import { variantsOf } from "./gateway-handshakes";
import { PROBE_CALLS_PER_REQUEST, BROWSER_HEADERS, keepAliveLoad } from "./host-call-costs";

/** Host calls priced in instructions besides the header reads: the rest of what a pinned join calls. */
export const INSTRUCTION_PROBES = [
  "get_header_pairs",
  "get_property",
  "get_shared_data",
  "get_shared_data_empty",
  "replace_header",
  "get_current_time",
];

/**
 * The plugin's tick, kept out of counted windows: its work (membership fetch, sweep) is per second, not
 * per request, and a window lasts tens of seconds under valgrind. No membership fetch, a one-bucket sweep.
 */
export const QUIET_TICK = { tickPeriodMs: 60000, adminCluster: "", sweepBucketsPerTick: 1 };

/** A handshake system's layout for counting: a plugin build gets the quiet tick on top of its own config. */
export function countedLayout(v: Variant): Partial<Layout> {
  if (v.layout.plugin === false || v.layout.wasmPath === WASM_FLOOR) return v.layout;
  const own = v.layout.pluginConfig ? JSON.parse(v.layout.pluginConfig) : {};
  return { ...v.layout, pluginConfig: JSON.stringify({ ...own, ...QUIET_TICK }) };
}

/** A system counted under callgrind: its name in the results, and its Envoy's layout. */
export interface CountedSystem {
  name: string;
  layout: Partial<Layout>;
}

/**
 * Envoy's instructions per unit of work (a request, a handshake) for each system, under callgrind: its
 * Envoy starts under valgrind, `warmUp` runs, then each of `windows` windows counts what `work` did
 * (`work` resolves with the units done and throws if any failed). Both get the system's own room counter,
 * so rooms are numbered on from the warm-up. Two systems run at a time, each keeping one core busy.
 * Resolves with each system's per-window counts per unit: all instructions, and those in code V8
 * compiled at run time (the wasm module and its call wrappers; see WindowCount).
 */
export async function callgrindCounts(
  systems: CountedSystem[],
  endpoints: Endpoint[],
  c: { tag: string; firstPort: number; windows: number },
  warmUp: (port: number, rooms: { n: number }) => Promise<unknown>,
  work: (port: number, rooms: { n: number }, system: string) => Promise<number>,
): Promise<{ perUnit: Record<string, number[]>; compiledPerUnit: Record<string, number[]> }> {
  const outDir = scratchDir(`bench-callgrind-${c.tag}`);
  const perUnit: Record<string, number[]> = {};
  const compiledPerUnit: Record<string, number[]> = {};
  const count = async (sys: CountedSystem, port: number) => {
    // No active health checks: under valgrind Envoy runs ~50x slower, a check can miss its 0.5 s timeout,
    // and one miss marks a pod unhealthy (a CI smoke run saw 196 of 200 requests refused); their traffic
    // would also be counted in the windows.
    const gw = await startGateway({
      name: `bench-${c.tag}-${sys.name.replace(/[^a-z0-9]+/g, "-")}`,
      listenPort: port,
      adminPort: port + 1,
      endpoints,
      layout: { ...sys.layout, healthCheck: false },
      start: { logLevel: "warning", wasmLogLevel: "info", wrapper: callgrindWrapper(outDir), readyTimeoutMs: 300_000 },
    });
    try {
      const pid = gw.envoy.proc.pid!;
      const rooms = { n: 0 };
      await warmUp(port, rooms);
      perUnit[sys.name] = [];
      compiledPerUnit[sys.name] = [];
      for (let w = 0; w < c.windows; w++) {
        zeroCount(pid);
        const units = await work(port, rooms, sys.name);
        const n = readCount(pid, outDir);
        perUnit[sys.name].push(n.total / units);
        compiledPerUnit[sys.name].push(n.compiledAtRunTime / units);
      }
    } finally {
      await gw.close();
    }
  };
  for (let i = 0; i < systems.length; i += 2) {
    await Promise.all(systems.slice(i, i + 2).map((sys, k) => count(sys, c.firstPort + k * 10)));
  }
  return { perUnit, compiledPerUnit };
}

/**
 * Envoy's instructions per WebSocket handshake (connect, upgrade -> 101, close), under callgrind, for the
 * systems of the handshake rounds: their attribution in counts that do not move with the machine's speed.
 * User-space instructions only: the kernel's part of a connection (accept, connect, close) is not in them,
 * so they say how the systems differ, not what a handshake costs in all. Two systems run at a time.
 */
export async function handshakeInstructions(o: Options, endpoints: Endpoint[]) {
  if (!callgrindAvailable()) throw new Error("valgrind with callgrind is needed for the instruction counts (npm run setup installs it)");
  // Windows of 1,000 after 3,000: with 500 after 1,500, windows of one system differed by up to 11,000
  // instructions per handshake (V8 still tiering the module up, a collection in one window and not the next).
  const handshakes = o.smoke ? 50 : 1000;
  const windows = o.smoke ? 1 : 5;
  const systems = variantsOf(o)
    .filter((v) => !v.name.endsWith("-again") && (!o.smoke || v.name === "floor" || v.name === "plugin"))
    .map((v) => ({ name: v.name, layout: countedLayout(v) }));
  // The join probe: only what any room-affinity plugin must do per join on this ABI (assembly/targets/probe.ts).
  systems.push({ name: "join-probe", layout: { wasmPath: WASM_PROBE, pluginConfig: `join:${endpoints[0].host}:${endpoints[0].port}` } });
  // Warm-up: pins the pool (rooms w0..w999) and lets V8 tier the module up; after 1,000 handshakes the
  // plugin's next 500 still counted ~7% more than the 500 after them (V8 compiling, on its threads).
  const warmUp = o.smoke ? 50 : 3000;
  const { perUnit: perHandshake, compiledPerUnit: compiled } = await callgrindCounts(
    systems,
    endpoints,
    { tag: "handshakes", firstPort: 23620, windows },
    (port, rooms) => loadSample(port, { handshakes: warmUp }, 4, 1000, "w", rooms),
    async (port, rooms, name) => {
      const ok = (await loadSample(port, { handshakes }, 4, 1000, "w", rooms)).latencies.length;
      if (ok !== handshakes) throw new Error(`${name}: ${ok} of ${handshakes} handshakes answered 101`);
      return ok;
    },
  );
  const over = (a: string, b: string, of = perHandshake) => (of[a] && of[b] ? spreadOf(of[a].map((x) => x - median(of[b]))) : null);
  return {
    handshakesPerWindow: handshakes,
    windows,
    warmUpHandshakes: warmUp,
    perHandshake: Object.fromEntries(Object.entries(perHandshake).map(([k, v]) => [k, spreadOf(v)])),
    compiledPerHandshake: Object.fromEntries(Object.entries(compiled).map(([k, v]) => [k, spreadOf(v)])),
    compiledPluginOverFloor: over("plugin", "floor", compiled),
    compiledJoinProbeOverFloor: over("join-probe", "floor", compiled),
    statefulSession: over("stateful-only", "roundrobin"),
    envoyWasm: over("floor", "stateful-only"),
    noKeyPass: over("wasm-passthrough", "floor"),
    keyTablePin: over("plugin", "wasm-passthrough"),
    pluginOverFloor: over("plugin", "floor"),
    joinProbeOverFloor: over("join-probe", "floor"),
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
export async function instructionCounts(o: Options, endpoints: Endpoint[]) {
  if (!callgrindAvailable()) throw new Error("valgrind with callgrind is needed for the instruction counts (npm run setup installs it)");
  const requests = o.smoke ? 200 : 2000;
  const windows = o.smoke ? 2 : 3;
  // The same GETs are joins when websocketOnly is off, and plain requests (not upgrades) when it is on.
  const joins = JSON.stringify({ websocketOnly: false, ...QUIET_TICK });
  const joinsWithoutCopies = JSON.stringify({ websocketOnly: false, ...QUIET_TICK, workerBucketCopies: 0 });
  const plain = JSON.stringify({ ...QUIET_TICK });
  const builds = [{ name: "plugin", wasmPath: WASM_ENVOY }, ...(o.baseline ? [{ name: "baseline", wasmPath: o.baseline }] : [])];
  const systems: CountedSystem[] = o.smoke
    ? [{ name: "floor", layout: { wasmPath: WASM_FLOOR } }]
    : [
        { name: "floor", layout: { wasmPath: WASM_FLOOR } },
        ...builds.flatMap((b) => [
          { name: `${b.name} join`, layout: { wasmPath: b.wasmPath, pluginConfig: joins } },
          { name: `${b.name} plain request`, layout: { wasmPath: b.wasmPath, pluginConfig: plain } },
        ]),
        { name: "plugin join, no bucket copies", layout: { wasmPath: WASM_ENVOY, pluginConfig: joinsWithoutCopies } },
        // Every host call a pinned join makes, priced in instructions (the CPU price list's noise-free twin).
        { name: "probe get_header", layout: { wasmPath: WASM_PROBE, pluginConfig: `get_header:${PROBE_CALLS_PER_REQUEST}` } },
        { name: "probe get_header absent", layout: { wasmPath: WASM_PROBE, pluginConfig: `get_header_absent:${PROBE_CALLS_PER_REQUEST}` } },
        ...INSTRUCTION_PROBES.map((c) => ({
          name: `probe ${c}`,
          layout: { wasmPath: WASM_PROBE, pluginConfig: `${c}:${PROBE_CALLS_PER_REQUEST}` },
        })),
      ];
  const { perUnit: perRequest } = await callgrindCounts(
    systems,
    endpoints,
    { tag: "requests", firstPort: 23600, windows },
    (port) => keepAliveLoad(port, { requests }, 4, BROWSER_HEADERS), // warm-up: pins every room, tiers up V8
    async (port, _rooms, name) => {
      const ok = await keepAliveLoad(port, { requests }, 4, BROWSER_HEADERS);
      if (ok !== requests) throw new Error(`${name}: ${ok} of ${requests} requests answered 200`);
      return ok;
    },
  );
  // Over the floor's median: the floor's own windows differ by well under 1% (BENCHMARKS.md shows them).
  const floor = median(perRequest.floor);
  const over = Object.fromEntries(
    Object.entries(perRequest)
      .filter(([k]) => k !== "floor" && !k.startsWith("probe"))
      .map(([k, v]) => [k, spreadOf(v.map((x) => x - floor))]),
  );
  const perCall = Object.fromEntries(
    Object.entries(perRequest)
      .filter(([k]) => k.startsWith("probe"))
      .map(([k, v]) => [k.replace(/^probe /, ""), spreadOf(v.map((x) => (x - floor) / PROBE_CALLS_PER_REQUEST))]),
  );
  return {
    requestsPerWindow: requests,
    windows,
    headers: Object.keys(BROWSER_HEADERS).length,
    cookieBytes: BROWSER_HEADERS.cookie.length,
    callsPerRequest: PROBE_CALLS_PER_REQUEST,
    perRequest: Object.fromEntries(Object.entries(perRequest).map(([k, v]) => [k, spreadOf(v)])),
    overFloor: over,
    perCall,
  };
}
