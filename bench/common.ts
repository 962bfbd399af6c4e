// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What every measurement shares: options, the handshake client and load, spreads, CPU accounting and
// interleaved rounds.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { envoyBinary, WASM_FLOOR } from "../tools/lib/paths";
import { Layout } from "../tools/lib/envoy-config";

export interface Options {
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
  /** The measurements to run (--only a,b); empty: all of them. */
  only: string[];
}

/** Every measurement `npm run bench` makes, in the order it makes them (names for --only). */
export const MEASUREMENTS = ["emulator", "profile", "handshakes", "peers", "frames", "host-calls", "instructions", "memory", "directory"];

export function parse(argv: string[]): Options {
  // 11 interleaved rounds of 3 s per system, each cut into 6 slices of 0.5 s taken in turn: the machine's
  // speed drifts by 10-20% over tens of seconds, so verdicts come from medians with their spread, and the
  // slices keep the systems compared within a round close together in time.
  const o: Options = {
    smoke: false,
    seconds: 3,
    rounds: 11,
    concurrency: 32,
    slices: 6,
    bigRooms: 1_000_000,
    gatewayRooms: 100_000,
    baseline: "",
    only: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--smoke")
      Object.assign(o, { smoke: true, seconds: 1, rounds: 1, concurrency: 8, slices: 2, bigRooms: 20_000, gatewayRooms: 2_000 });
    else if (a === "--seconds") o.seconds = Number(argv[++i]);
    else if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--concurrency") o.concurrency = Number(argv[++i]);
    else if (a === "--slices") o.slices = Number(argv[++i]);
    else if (a === "--big-rooms") o.bigRooms = Number(argv[++i]);
    else if (a === "--gateway-rooms") o.gatewayRooms = Number(argv[++i]);
    else if (a === "--baseline") o.baseline = path.resolve(argv[++i]);
    else if (a === "--only") {
      o.only = String(argv[++i]).split(",");
      const unknown = o.only.filter((m) => !MEASUREMENTS.includes(m));
      if (unknown.length > 0)
        throw new Error(
          `--only: unknown measurement ${unknown.join(", ")} (expected a comma-separated list of ${MEASUREMENTS.join(", ")})`,
        );
    } else
      throw new Error(
        `unknown option ${a} (options: --smoke --seconds N --rounds N --concurrency N --slices N --big-rooms N --gateway-rooms N --baseline OLD_ENVOY_WASM --only ${MEASUREMENTS.join(",")})`,
      );
  }
  return o;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const UPGRADE_HEADERS = {
  Connection: "Upgrade",
  Upgrade: "websocket",
  "Sec-WebSocket-Version": "13",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
};

/** One WebSocket handshake (upgrade -> 101 -> close); resolves with its latency in ms. */
export function handshake(port: number, roomPath: string): Promise<number> {
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

export interface LoadResult {
  handshakes: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** What one stretch of load saw: every handshake's latency (ms) and the failures. */
export interface LoadSample {
  latencies: number[];
  errors: number;
}

/**
 * Closed loop: `concurrency` clients doing handshakes for `until.seconds` or until `until.handshakes` were
 * sent, over a pool of `rooms` rooms named `prefix` + number; `counter` carries the numbering on from one
 * stretch to the next (new rooms stay new).
 */
export async function loadSample(
  port: number,
  until: { seconds?: number; handshakes?: number },
  concurrency: number,
  rooms: number,
  prefix: string,
  counter = { n: 0 },
): Promise<LoadSample> {
  const latencies: number[] = [];
  let errors = 0;
  const end = until.seconds === undefined ? Infinity : Date.now() + until.seconds * 1000;
  const limit = until.handshakes ?? Infinity;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end && sent < limit) {
        sent++;
        const room = counter.n++ % rooms;
        try {
          latencies.push(await handshake(port, `/ws?appId=bench&roomId=${prefix}${room}`));
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, errors };
}

/** Stretches of load taken as one measurement lasting `seconds` in all. */
export function summarise(samples: LoadSample[], seconds: number): LoadResult {
  const lat = samples.flatMap((x) => x.latencies).sort((a, b) => a - b);
  return {
    handshakes: lat.length,
    errors: samples.reduce((n, x) => n + x.errors, 0),
    perSecond: lat.length / seconds,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
  };
}

/** Closed loop: `concurrency` clients doing handshakes for `seconds`, over a pool of `rooms` rooms. */
export async function load(port: number, seconds: number, concurrency: number, rooms: number, prefix: string): Promise<LoadResult> {
  return summarise([await loadSample(port, { seconds }, concurrency, rooms, prefix)], seconds);
}

export function envoyVersion(): string {
  const r = spawnSync(envoyBinary(), ["--version"], { encoding: "utf8" });
  return (r.stdout.match(/version: \S+\/([\d.]+)\//) ?? [])[1] ?? "unknown";
}

export function rssKb(pid: number): number {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number((s.match(/VmRSS:\s+(\d+)/) ?? [])[1] ?? NaN);
}

export interface Variant {
  name: string;
  label: string;
  layout: Partial<Layout>;
}

/** The systems of the handshake benchmark; the middle ones attribute the plugin's cost step by step. */
export const VARIANTS: Variant[] = [
  { name: "roundrobin", label: "Envoy round robin, no filter", layout: { plugin: false, statefulSession: false } },
  {
    name: "maglev",
    label: "Envoy MAGLEV query hashing",
    layout: { plugin: false, statefulSession: false, lbPolicy: "MAGLEV", hashQueryParams: ["appId", "roomId"] },
  },
  { name: "stateful-only", label: "Envoy + stateful_session only (no wasm)", layout: { plugin: false, statefulSession: true } },
  { name: "floor", label: "Envoy + floor wasm filter (hooks only return) + stateful_session", layout: { wasmPath: WASM_FLOOR } },
  // The same system twice, as two Envoys: how far two identical systems differ is the noise of every difference.
  { name: "floor-again", label: "the floor again, as its own Envoy (A/A control)", layout: { wasmPath: WASM_FLOOR } },
  {
    name: "wasm-passthrough",
    label: "Envoy + wasm filter that finds no key + stateful_session",
    layout: { pluginConfig: JSON.stringify({ keyParams: ["never"] }) },
  },
  { name: "plugin", label: "Envoy + room-affinity (joins of pinned rooms)", layout: {} },
];

/**
 * The systems in the order a round measures them: forward in even rounds, backward in odd ones, so a
 * machine that speeds up or slows down across a round favours no system over the rounds.
 */
export function inRoundOrder<T>(systems: T[], round: number): T[] {
  return round % 2 === 0 ? systems : [...systems].reverse();
}

/**
 * CPU time a process has used, all its threads, in microseconds: the scheduler's own nanosecond
 * accounting (/proc/PID/task/TID/schedstat), not /proc/PID/stat's 10 ms clock ticks. Envoy's threads
 * live as long as Envoy, so none exits between two readings.
 */
export function cpuMicros(pid: number): number {
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
export async function slicedRound<E>(entries: E[], round: number, slices: number, measure: (e: E) => Promise<void>): Promise<void> {
  for (let k = 0; k < slices; k++) {
    for (const e of inRoundOrder(entries, round * slices + k)) await measure(e);
  }
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** Median with its min-max spread over the rounds. */
export function spreadOf(xs: number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

export interface Measured extends LoadResult {
  envoyCpuUsPerHandshake: number;
}

/** The variants of this run: with --baseline, the earlier build runs beside the plugin in every round. */
