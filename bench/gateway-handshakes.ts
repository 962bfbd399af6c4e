// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import path from "node:path";
import { Endpoint } from "../tools/lib/envoy-config";
import { Gateway, startGateway } from "../tools/lib/gateway";
import {
  Options,
  LoadSample,
  loadSample,
  summarise,
  load,
  Variant,
  VARIANTS,
  cpuMicros,
  slicedRound,
  Spread,
  median,
  spreadOf,
  Measured,
} from "./common";

export function variantsOf(o: Options): Variant[] {
  if (!o.baseline) return VARIANTS;
  // A symmetric A/B: both builds twice, as A B B' A', so whichever way a round runs its systems (forward,
  // then backward), each build sits once on each side of the other; a neighbour effect (the system
  // measured just before) then hits both builds alike instead of flipping the sign of the difference.
  const baseline = (name: string): Variant => ({
    name,
    label: `Envoy + room-affinity, baseline build (${path.basename(o.baseline)})`,
    layout: { wasmPath: o.baseline },
  });
  const plugin = VARIANTS[VARIANTS.length - 1];
  return [
    ...VARIANTS.slice(0, -1),
    baseline("plugin-baseline"),
    { ...plugin, name: "plugin-again", label: `${plugin.label}, again (A/B)` },
    baseline("plugin-baseline-again"),
    plugin,
  ];
}

export async function gatewayBench(o: Options, endpoints: Endpoint[]) {
  const running: { v: Variant; gw: Gateway; port: number }[] = [];
  const variants = variantsOf(o);
  let port = 23000;
  try {
    for (const v of variants) {
      const gw = await startGateway({
        name: `bench-${v.name}`,
        listenPort: port,
        adminPort: port + 1,
        endpoints,
        layout: v.layout,
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
        console.log(
          `round ${round + 1} ${e.name.padEnd(16)} ${m.perSecond.toFixed(0).padStart(6)} handshakes/s  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms  Envoy CPU ${(sum.cpuUs / Math.max(1, m.handshakes)).toFixed(1)} us/handshake  errors ${m.errors}`,
        );
      }
    }
    const summary: Record<
      string,
      { label: string; perSecond: number; p50: number; p99: number; errors: number; envoyCpuUsPerHandshake: number; cpuSpread: Spread }
    > = {};
    for (const [k, rs] of Object.entries(rounds)) {
      summary[k] = {
        label: variants.find((v) => v.name === k)?.label ?? "Envoy + room-affinity (every join a new room)",
        perSecond: median(rs.map((r) => r.perSecond)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        envoyCpuUsPerHandshake: median(rs.map((r) => r.envoyCpuUsPerHandshake)),
        cpuSpread: spreadOf(rs.map((r) => r.envoyCpuUsPerHandshake)),
      };
    }
    // Ratios and differences within each round (both systems saw the same machine state), then the
    // median over the rounds with its min-max spread.
    const ratio = (a: string, b: string, f: (r: Measured) => number) => spreadOf(rounds[a].map((r, i) => f(r) / f(rounds[b][i])));
    const diff = (a: string, b: string, f: (r: Measured) => number) => spreadOf(rounds[a].map((r, i) => f(r) - f(rounds[b][i])));
    const cpu = (r: Measured) => r.envoyCpuUsPerHandshake;
    const pairDiff = (f: (r: Measured) => number) =>
      spreadOf(
        rounds.plugin.map(
          (r, i) =>
            (f(r) + f(rounds["plugin-again"][i])) / 2 - (f(rounds["plugin-baseline"][i]) + f(rounds["plugin-baseline-again"][i])) / 2,
        ),
      );
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
      // Before/after, when an earlier build ran beside this one: each build's mean of its two copies,
      // per round; the copies against each other are the A/A control of this comparison.
      baseline: o.baseline
        ? {
            build: path.basename(o.baseline),
            cpuChangeUs: pairDiff(cpu),
            throughputRatio: spreadOf(
              rounds.plugin.map(
                (r, i) =>
                  (r.perSecond + rounds["plugin-again"][i].perSecond) /
                  (rounds["plugin-baseline"][i].perSecond + rounds["plugin-baseline-again"][i].perSecond),
              ),
            ),
            p99ChangeMs: pairDiff((r) => r.p99),
            baselineOverFloorUs: diff("plugin-baseline", "floor", cpu),
            controlCpuUs: diff("plugin-again", "plugin", cpu),
            baselineControlCpuUs: diff("plugin-baseline-again", "plugin-baseline", cpu),
          }
        : null,
    };
  } finally {
    for (const r of running) await r.gw.close();
  }
}
