// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Messages after the upgrade: a game's traffic is mostly WebSocket frames, and the wasm filter stays in
// every upgraded stream's filter chain. Many open sockets each echo frames through the gateway to the
// demo pods (one frame each way per round trip), for round robin, MAGLEV twice (the A/A control), the
// floor module and the plugin, in interleaved rounds: frames per second, Envoy CPU per frame, and the
// round trip's p50 and p99.
import { Endpoint } from "../tools/lib/envoy-config";
import { Gateway, startGateway } from "../tools/lib/gateway";
import { WASM_FLOOR } from "../tools/lib/paths";
import { join, closeAll, Joined } from "../tools/lib/clients";
import { Options, Variant, cpuMicros, slicedRound, Spread, spreadOf, percentile } from "./common";

/** The systems compared per frame: MAGLEV twice, since two identical systems show the method's noise. */
const FRAME_VARIANTS: Variant[] = [
  { name: "roundrobin", label: "Envoy round robin, no filter", layout: { plugin: false, statefulSession: false } },
  {
    name: "maglev",
    label: "Envoy MAGLEV query hashing",
    layout: { plugin: false, statefulSession: false, lbPolicy: "MAGLEV", hashQueryParams: ["appId", "roomId"] },
  },
  {
    name: "maglev-again",
    label: "MAGLEV again, as its own Envoy (A/A control)",
    layout: { plugin: false, statefulSession: false, lbPolicy: "MAGLEV", hashQueryParams: ["appId", "roomId"] },
  },
  { name: "floor", label: "Envoy + floor wasm filter + stateful_session", layout: { wasmPath: WASM_FLOOR } },
  { name: "plugin", label: "Envoy + room-affinity", layout: {} },
];

/** Game-sized frames: a small state update, and a larger one. */
export const FRAME_SIZES = [64, 1024];

interface FrameSample {
  roundTrips: number;
  latenciesMs: number[];
  cpuUs: number;
}

/** Every socket sends a frame, waits for its echo, sends the next, for `ms`; latencies of every round trip. */
function echoFor(sockets: Joined[], frame: Buffer, ms: number): Promise<{ roundTrips: number; latenciesMs: number[] }> {
  return new Promise((resolve) => {
    const latenciesMs: number[] = [];
    const until = performance.now() + ms;
    let running = sockets.length;
    for (const s of sockets) {
      let sent = 0;
      const next = () => {
        if (performance.now() >= until) {
          s.ws.off("message", onMessage);
          if (--running === 0) resolve({ roundTrips: latenciesMs.length, latenciesMs });
          return;
        }
        sent = performance.now();
        s.ws.send(frame);
      };
      const onMessage = () => {
        latenciesMs.push(performance.now() - sent);
        next();
      };
      s.ws.on("message", onMessage);
      next();
    }
  });
}

export interface FrameResult {
  label: string;
  framesPerSecond: Spread;
  /** Envoy CPU per frame, each direction counted (a round trip is two frames). */
  cpuUsPerFrame: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
}

export async function frameBench(o: Options, endpoints: Endpoint[]) {
  const sockets = o.smoke ? 8 : 64;
  const running: { v: Variant; gw: Gateway; open: Joined[] }[] = [];
  let port = 23400;
  try {
    for (const v of FRAME_VARIANTS) {
      const gw = await startGateway({
        name: `bench-frames-${v.name}`,
        listenPort: port,
        adminPort: port + 1,
        endpoints,
        layout: v.layout,
        start: { logLevel: "warning", wasmLogLevel: "info" },
      });
      running.push({ v, gw, open: [] });
      port += 10;
    }
    await running[running.length - 1].gw.waitMembership(endpoints.length);
    // Open sockets of rooms of 4 players (the plugin pins the later players), kept open for every round.
    for (const r of running) {
      for (let i = 0; i < sockets; i++) r.open.push(await join(r.gw.url("frames", `room${Math.floor(i / 4)}`)));
      for (const s of r.open) s.ws.on("error", () => undefined);
    }
    const results: Record<number, { systems: Record<string, FrameResult>; comparison: Record<string, Spread> }> = {};
    const sliceMs = (o.seconds * 1000) / o.slices;
    for (const size of FRAME_SIZES) {
      const frame = Buffer.alloc(size, 0x61);
      // Warm-up: every socket's path through every system.
      for (const r of running) await echoFor(r.open, frame, 200);
      const rounds: Record<string, FrameSample[]> = Object.fromEntries(FRAME_VARIANTS.map((v) => [v.name, []]));
      for (let round = 0; round < o.rounds; round++) {
        const sums = new Map(running.map((r) => [r.v.name, { roundTrips: 0, latenciesMs: [] as number[], cpuUs: 0 }]));
        await slicedRound(running, round, o.slices, async (r) => {
          const sum = sums.get(r.v.name)!;
          const c0 = cpuMicros(r.gw.envoy.proc.pid!);
          const s = await echoFor(r.open, frame, sliceMs);
          sum.cpuUs += cpuMicros(r.gw.envoy.proc.pid!) - c0;
          sum.roundTrips += s.roundTrips;
          for (const l of s.latenciesMs) sum.latenciesMs.push(l);
        });
        for (const r of running) {
          const sum = sums.get(r.v.name)!;
          rounds[r.v.name].push(sum);
          const sorted = [...sum.latenciesMs].sort((a, b) => a - b);
          console.log(
            `frames ${size} B round ${round + 1} ${r.v.name.padEnd(13)} ${((2 * sum.roundTrips) / o.seconds).toFixed(0).padStart(7)} frames/s  Envoy CPU ${(sum.cpuUs / Math.max(1, 2 * sum.roundTrips)).toFixed(2)} us/frame  round trip p50 ${percentile(sorted, 50).toFixed(3)} p99 ${percentile(sorted, 99).toFixed(3)} ms`,
          );
        }
      }
      const systems: Record<string, FrameResult> = {};
      for (const r of running) {
        const rs = rounds[r.v.name];
        const sorted = rs.map((s) => [...s.latenciesMs].sort((a, b) => a - b));
        systems[r.v.name] = {
          label: r.v.label,
          framesPerSecond: spreadOf(rs.map((s) => (2 * s.roundTrips) / o.seconds)),
          cpuUsPerFrame: spreadOf(rs.map((s) => s.cpuUs / Math.max(1, 2 * s.roundTrips))),
          p50Ms: spreadOf(sorted.map((l) => percentile(l, 50))),
          p99Ms: spreadOf(sorted.map((l) => percentile(l, 99))),
        };
      }
      // Differences within each round, then their median and spread: the plugin against MAGLEV, and
      // MAGLEV against itself (the A/A control), which bounds what the method can tell apart.
      const cpu = (name: string, i: number) => rounds[name][i].cpuUs / Math.max(1, 2 * rounds[name][i].roundTrips);
      const diff = (a: string, b: string) => spreadOf(rounds[a].map((_, i) => cpu(a, i) - cpu(b, i)));
      results[size] = {
        systems,
        comparison: {
          pluginOverMaglevUs: diff("plugin", "maglev"),
          controlUs: diff("maglev-again", "maglev"),
          floorOverMaglevUs: diff("floor", "maglev"),
          pluginOverFloorUs: diff("plugin", "floor"),
          pluginThroughputVsMaglev: spreadOf(rounds.plugin.map((s, i) => s.roundTrips / Math.max(1, rounds.maglev[i].roundTrips))),
        },
      };
    }
    return { sockets, sizes: FRAME_SIZES, rounds: o.rounds, secondsPerRound: o.seconds, results };
  } finally {
    for (const r of running) await closeAll(r.open).catch(() => undefined);
    for (const r of running) await r.gw.close().catch(() => undefined);
  }
}

/** The frame results as lines for the bench's output. */
export function frameLines(f: Awaited<ReturnType<typeof frameBench>>): string[] {
  const sp = (x: Spread, d: number) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})`;
  const out: string[] = [];
  for (const size of f.sizes) {
    const r = f.results[size];
    for (const name of FRAME_VARIANTS.map((v) => v.name)) {
      const x = r.systems[name];
      out.push(
        `frames: ${size} B ${name.padEnd(13)} ${sp(x.framesPerSecond, 0)} frames/s, Envoy CPU ${sp(x.cpuUsPerFrame, 2)} us/frame, round trip p50 ${sp(x.p50Ms, 3)} p99 ${sp(x.p99Ms, 3)} ms`,
      );
    }
    const c = r.comparison;
    out.push(
      `frames: ${size} B plugin over MAGLEV ${sp(c.pluginOverMaglevUs, 2)} us/frame (A/A control: MAGLEV again ${sp(c.controlUs, 2)}); floor over MAGLEV ${sp(c.floorOverMaglevUs, 2)}; plugin over the floor ${sp(c.pluginOverFloorUs, 2)}; plugin throughput x${sp(c.pluginThroughputVsMaglev, 3)} of MAGLEV (${f.sockets} sockets, ${f.rounds} rounds)`,
    );
  }
  return out;
}
