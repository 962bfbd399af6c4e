// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The WebSocket handshake against what users would run instead for room affinity: nginx with a Lua
// room cache and HAProxy with a stick table, beside Envoy MAGLEV (no affinity) and this plugin (twice:
// the A/A control), in the same interleaved rounds with the same pods and clients. Each server's CPU is
// read the same way: every thread of every process of it (nginx's and HAProxy's workers included).
import fs from "node:fs";
import { Endpoint } from "../tools/lib/envoy-config";
import { EnvoySystem, System } from "../tools/lib/system";
import { scratchDir } from "../tools/lib/paths";
import { NginxLuaSystem, HaproxySystem } from "./systems";
import { Options, cpuMicros, load, loadSample, slicedRound, summarise, spreadOf, Spread, LoadSample } from "./common";

/** A process and all its descendants (nginx's master and workers, HAProxy's master and worker). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const c of fs.readFileSync(`/proc/${out[i]}/task/${tid}/children`, "utf8").split(" ").filter(Boolean)) out.push(Number(c));
      } catch {
        // The thread ended between the two reads.
      }
    }
  }
  return out;
}

/** CPU time of a server, all its processes and threads, in microseconds. */
function serverCpuMicros(pid: number): number {
  return processTree(pid).reduce((us, p) => us + cpuMicros(p), 0);
}

interface Peer {
  name: string;
  label: string;
  system: System;
  pid: () => number;
}

export interface PeerResult {
  label: string;
  perSecond: Spread;
  p99Ms: Spread;
  cpuUsPerHandshake: Spread;
  errors: number;
}

export async function peerBench(o: Options, endpoints: Endpoint[]) {
  const dir = scratchDir("bench-peers");
  const envoyPid = (s: EnvoySystem) => () => s.gw!.envoy.proc.pid!;
  // No access log, as nginx (access_log off) and HAProxy (no log directive) run here.
  const quiet = { accessLog: "off" };
  const maglev = new EnvoySystem("maglev", 23500, 23501, `${dir}/maglev`, {}, quiet);
  const plugin = new EnvoySystem("plugin", 23510, 23511, `${dir}/plugin`, {}, quiet);
  const pluginAgain = new EnvoySystem("plugin", 23520, 23521, `${dir}/plugin-again`, {}, quiet);
  const nginxLua = new NginxLuaSystem(23530, `${dir}/nginx-lua`);
  const haproxy = new HaproxySystem(23540, 23545, `${dir}/haproxy`);
  const peers: Peer[] = [
    { name: "maglev", label: "Envoy MAGLEV query hashing (no affinity)", system: maglev, pid: envoyPid(maglev) },
    { name: "nginx-lua", label: "nginx + Lua room cache", system: nginxLua, pid: () => nginxLua.proc!.pid! },
    { name: "haproxy", label: "HAProxy stick table", system: haproxy, pid: () => haproxy.proc!.pid! },
    { name: "plugin-again", label: "Envoy + room-affinity, again (A/A control)", system: pluginAgain, pid: envoyPid(pluginAgain) },
    { name: "plugin", label: "Envoy + room-affinity", system: plugin, pid: envoyPid(plugin) },
  ];
  try {
    for (const p of peers) await p.system.start(endpoints);
    // Warm-up: every system pins (or caches) the room pool and warms its connections.
    for (const p of peers) await load(p.system.port, 1, o.concurrency, 1000, "w");
    const rounds: Record<string, { perSecond: number; p99: number; cpuUs: number; errors: number }[]> = Object.fromEntries(
      peers.map((p) => [p.name, []]),
    );
    const sliceSeconds = o.seconds / o.slices;
    for (let round = 0; round < o.rounds; round++) {
      const sums = new Map(peers.map((p) => [p.name, { samples: [] as LoadSample[], cpuUs: 0, counter: { n: 0 } }]));
      await slicedRound(peers, round, o.slices, async (p) => {
        const sum = sums.get(p.name)!;
        const c0 = serverCpuMicros(p.pid());
        sum.samples.push(await loadSample(p.system.port, { seconds: sliceSeconds }, o.concurrency, 1000, "w", sum.counter));
        sum.cpuUs += serverCpuMicros(p.pid()) - c0;
      });
      for (const p of peers) {
        const sum = sums.get(p.name)!;
        const m = summarise(sum.samples, o.seconds);
        const cpu = sum.cpuUs / Math.max(1, m.handshakes);
        rounds[p.name].push({ perSecond: m.perSecond, p99: m.p99, cpuUs: cpu, errors: m.errors });
        console.log(
          `peers round ${round + 1} ${p.name.padEnd(13)} ${m.perSecond.toFixed(0).padStart(6)} handshakes/s  p99 ${m.p99.toFixed(3)} ms  server CPU ${cpu.toFixed(1)} us/handshake  errors ${m.errors}`,
        );
      }
    }
    const systems: Record<string, PeerResult> = {};
    for (const p of peers) {
      const rs = rounds[p.name];
      systems[p.name] = {
        label: p.label,
        perSecond: spreadOf(rs.map((r) => r.perSecond)),
        p99Ms: spreadOf(rs.map((r) => r.p99)),
        cpuUsPerHandshake: spreadOf(rs.map((r) => r.cpuUs)),
        errors: rs.reduce((n, r) => n + r.errors, 0),
      };
    }
    // Within each round, then the median and spread over rounds.
    const ratio = (a: string, b: string) => spreadOf(rounds[a].map((r, i) => r.perSecond / rounds[b][i].perSecond));
    const cpuDiff = (a: string, b: string) => spreadOf(rounds[a].map((r, i) => r.cpuUs - rounds[b][i].cpuUs));
    return {
      rounds: o.rounds,
      concurrency: o.concurrency,
      systems,
      comparison: {
        throughputVsNginxLua: ratio("plugin", "nginx-lua"),
        throughputVsHaproxy: ratio("plugin", "haproxy"),
        throughputVsMaglev: ratio("plugin", "maglev"),
        cpuVsNginxLuaUs: cpuDiff("plugin", "nginx-lua"),
        cpuVsHaproxyUs: cpuDiff("plugin", "haproxy"),
        controlThroughput: ratio("plugin-again", "plugin"),
        controlCpuUs: cpuDiff("plugin-again", "plugin"),
      },
    };
  } finally {
    for (const p of peers) await p.system.stop().catch(() => undefined);
  }
}

export function peerLines(r: Awaited<ReturnType<typeof peerBench>>): string[] {
  const sp = (x: Spread, d: number) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})`;
  const out = Object.entries(r.systems).map(
    ([name, s]) =>
      `peers: ${name.padEnd(13)} ${sp(s.perSecond, 0)} handshakes/s, p99 ${sp(s.p99Ms, 3)} ms, server CPU ${sp(s.cpuUsPerHandshake, 1)} us/handshake, errors ${s.errors}`,
  );
  const c = r.comparison;
  out.push(
    `peers: plugin throughput x${sp(c.throughputVsNginxLua, 3)} of nginx+Lua, x${sp(c.throughputVsHaproxy, 3)} of HAProxy, x${sp(c.throughputVsMaglev, 3)} of MAGLEV; server CPU ${sp(c.cpuVsNginxLuaUs, 1)} us vs nginx+Lua, ${sp(c.cpuVsHaproxyUs, 1)} us vs HAProxy; A/A control x${sp(c.controlThroughput, 3)}, ${sp(c.controlCpuUs, 1)} us (${r.rounds} rounds)`,
  );
  return out;
}
