// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// `npm run bench`: performance side by side in one run (the machine is shared and noisy, so figures
// are ratios between systems measured in interleaved rounds). One file per measurement; this main runs
// them (all, or those named by --only), prints everything and, on a full run, writes
// bench/results/bench.json and bench/charts/handshake-*.svg. `--smoke` runs a tiny version (CI).
// Benchmarks never fail on timing; they fail only when broken (a crash or no output).
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { ROOT } from "../tools/lib/paths";
import { PodFleet } from "../tools/lib/pods";
import { groupedBars } from "./svg";
import { parse, envoyVersion, Spread } from "./common";
import { gatewayBench } from "./gateway-handshakes";
import { frameBench, frameLines } from "./frames";
import { peerBench, peerLines } from "./peers";
import { hostCallCosts } from "./host-call-costs";
import { handshakeInstructions, instructionCounts } from "./instructions";
import { gatewayMemory } from "./memory";
import { emulatorBench } from "./emulator";
import { profileBench } from "./profile";
import { directoryBench } from "./directory";

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const started = new Date();
  console.log(
    `bench: ${o.smoke ? "SMOKE " : ""}Envoy ${envoyVersion()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), node ${process.version}`,
  );
  const want = (m: string) => o.only.length === 0 || o.only.includes(m);
  const emu = want("emulator") ? await emulatorBench(o) : undefined;
  if (emu) {
    console.log(
      `emulator: ${emu.usPerHitSmall.toFixed(2)} us/join at ${emu.roomsSmall} rooms, ${emu.usPerHitBig.toFixed(2)} us/join at ${emu.roomsBig} rooms (x${emu.scaling.toFixed(2)} (${emu.scalingSpread.min.toFixed(2)}..${emu.scalingSpread.max.toFixed(2)}) over ${emu.rounds} rounds, bucket copies off); ${emu.usPerHitCopies.toFixed(2)} us/join at ${emu.roomsSmall} rooms with bucket copies; ${emu.usPerPin.toFixed(2)} us/new room`,
    );
    console.log(
      `emulator: table ${emu.tableBytes} B in ${emu.buckets} buckets = ${emu.bytesPerRoomPayload.toFixed(1)} B/room payload, ~${emu.bytesPerRoomEstimated.toFixed(1)} B/room with Envoy's map overhead`,
    );
    console.log(
      `emulator: sweep pass, steady (${emu.sweepSteadyWindow} buckets) ${emu.sweepSteadyMs.map((x) => x.toFixed(1)).join(", ")} ms; after a pod left (${emu.sweepUrgentWindow} buckets) ${emu.sweepUrgentMs.map((x) => x.toFixed(1)).join(", ")} ms`,
    );
    console.log(
      `emulator: removed pod's ${emu.evictedRooms} rooms evicted in ${emu.evictionTicks} ticks (${emu.bucketsStillHoldingVictim} buckets still hold it)`,
    );
  }

  const profile = want("profile") ? await profileBench(o) : [];
  for (const p of profile) {
    console.log(
      `profile: ${p.build.padEnd(12)} ${p.scenario.padEnd(13)} ${p.hostCalls.toFixed(2)} host calls (${Object.entries(p.calls)
        .map(([k, v]) => `${k} ${+v.toFixed(3)}`)
        .join(
          ", ",
        )}), ${p.allocations.toFixed(2)} values handed back, module ${p.moduleUs.median.toFixed(2)} us (${p.moduleUs.min.toFixed(2)}..${p.moduleUs.max.toFixed(2)})`,
    );
  }

  const fleet = new PodFleet(23100);
  const needsPods = ["handshakes", "peers", "frames", "host-calls", "instructions", "memory"].some(want);
  if (needsPods) await fleet.start(3, "bench");
  let gw: Awaited<ReturnType<typeof gatewayBench>> | undefined;
  let mem: Awaited<ReturnType<typeof gatewayMemory>> | undefined;
  let frames: Awaited<ReturnType<typeof frameBench>> | undefined;
  let peers: Awaited<ReturnType<typeof peerBench>> | undefined;
  let costs: Awaited<ReturnType<typeof hostCallCosts>> | undefined;
  let ir: Awaited<ReturnType<typeof instructionCounts>> | undefined;
  let hsIr: Awaited<ReturnType<typeof handshakeInstructions>> | undefined;
  try {
    const sp = (x: Spread, d = 3) => `${x.median.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})`;
    const si = (x: Spread | null) => (x ? `${Math.round(x.median)} (${Math.round(x.min)}..${Math.round(x.max)})` : "-");
    if (want("handshakes")) {
      gw = await gatewayBench(o, fleet.endpoints());
      console.log(
        `gateway: plugin throughput x${sp(gw.throughputVsMaglev)} of MAGLEV, x${sp(gw.throughputVsRoundRobin)} of round robin; p99 added vs MAGLEV ${sp(gw.p99AddedVsMaglevMs)} ms, p50 added ${sp(gw.p50AddedVsMaglevMs)} ms`,
      );
      if (gw.baseline)
        console.log(
          `gateway: against the baseline build ${gw.baseline.build} (symmetric A/B, both builds twice): Envoy CPU ${sp(gw.baseline.cpuChangeUs, 1)} us per handshake, throughput x${sp(gw.baseline.throughputRatio)}, p99 ${sp(gw.baseline.p99ChangeMs)} ms; baseline over the floor ${sp(gw.baseline.baselineOverFloorUs, 1)} us; A/A controls: this build ${sp(gw.baseline.controlCpuUs, 1)}, the baseline ${sp(gw.baseline.baselineControlCpuUs, 1)} us`,
        );
      console.log(
        `gateway: A/A control (the floor against itself): Envoy CPU ${sp(gw.control.cpuUs, 1)} us per handshake, throughput x${sp(gw.control.throughputRatio)}, p99 ${sp(gw.control.p99Ms)} ms`,
      );
      console.log(
        `gateway: Envoy CPU per handshake: stateful_session ${sp(gw.cpuStatefulSessionUs, 1)}, Envoy's wasm machinery (floor) ${sp(gw.cpuEnvoyWasmUs, 1)}, plugin over the floor ${sp(gw.cpuPluginOverFloorUs, 1)} us (no-key pass ${sp(gw.cpuNoKeyPassUs, 1)}, key+table+pin ${sp(gw.cpuKeyTablePinUs, 1)})`,
      );
    }
    if (want("peers")) {
      peers = await peerBench(o, fleet.endpoints());
      for (const line of peerLines(peers)) console.log(line);
    }
    if (want("frames")) {
      frames = await frameBench(o, fleet.endpoints());
      for (const line of frameLines(frames)) console.log(line);
    }
    if (want("host-calls")) {
      costs = await hostCallCosts(o, fleet.endpoints());
      console.log(
        `keep-alive: plugin over the floor ${sp(costs.pluginOverFloorUs, 1)} us of Envoy CPU per join (floor ${sp(costs.floorUsPerRequest, 1)} us per request)`,
      );
      for (const [c, x] of Object.entries(costs.perCallUs))
        console.log(
          `host call: ${c.padEnd(18)} ${sp(x, 2)} us of Envoy CPU per call (keep-alive requests, ${costs.callsPerRequest} calls each, against the floor)`,
        );
    }
    if (want("instructions")) {
      ir = await instructionCounts(o, fleet.endpoints());
      for (const [k, v] of Object.entries(ir.perRequest))
        console.log(`instructions: ${k.padEnd(18)} ${si(v)} per request (callgrind, ${ir.windows} windows of ${ir.requestsPerWindow})`);
      for (const [k, v] of Object.entries(ir.overFloor)) console.log(`instructions: ${k} over the floor ${si(v)} per request`);
      for (const [k, v] of Object.entries(ir.perCall)) console.log(`instructions: one ${k} ${si(v)}`);
      hsIr = await handshakeInstructions(o, fleet.endpoints());
      for (const [k, v] of Object.entries(hsIr.perHandshake))
        console.log(
          `instructions: ${k.padEnd(18)} ${si(v)} per handshake (callgrind, ${hsIr.windows} windows of ${hsIr.handshakesPerWindow}); in code compiled at run time ${si(hsIr.compiledPerHandshake[k])}`,
        );
      console.log(
        `instructions per handshake: plugin over the floor ${si(hsIr.pluginOverFloor)} (no-key pass ${si(hsIr.noKeyPass)}, key+table+pin ${si(hsIr.keyTablePin)}); floor over stateful_session ${si(hsIr.envoyWasm)}`,
      );
      if (hsIr.pluginOverFloor && hsIr.joinProbeOverFloor) {
        console.log(
          `instructions per handshake: the join probe over the floor ${si(hsIr.joinProbeOverFloor)}; plugin x${(hsIr.pluginOverFloor.median / hsIr.joinProbeOverFloor.median).toFixed(2)} of it (goal: at most x1.5)`,
        );
      }
    }
    if (want("memory")) {
      mem = await gatewayMemory(o, fleet.endpoints());
      console.log(
        `gateway: ${mem.pins} rooms pinned through Envoy in ${mem.preloadSeconds.toFixed(1)} s; RSS ${mem.rssBeforeKb} -> ${mem.rssAfterKb} kB = ${mem.bytesPerRoom.toFixed(1)} B/room`,
      );
    }
  } finally {
    await fleet.stopAll();
  }
  const dir = want("directory") ? await directoryBench(o) : undefined;
  if (dir) {
    console.log(
      `directory: join of a room this replica does not know p50 ${dir.missP50.toFixed(2)} ms, p99 ${dir.missP99.toFixed(2)} ms; local hit p50 ${dir.hitP50.toFixed(2)} ms, p99 ${dir.hitP99.toFixed(2)} ms (${dir.rooms} rooms, ${dir.found} found in the directory)`,
    );
    console.log(
      `directory: steady load ${dir.steadyJoins} joins of ${dir.steadyRooms} known rooms in ${dir.steadySeconds} s: ${dir.directoryRequests} directory requests = ${dir.requestsPerJoin.toFixed(4)} per join (bound: one lookup per room per replica, then one refresh per ${dir.refreshSeconds} s: ${dir.expectedBound.toFixed(4)})`,
    );
  }

  const result = {
    date: started.toISOString(),
    smoke: o.smoke,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? "?",
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      envoy: envoyVersion(),
    },
    method: { seconds: o.seconds, rounds: o.rounds, slices: o.slices, concurrency: o.concurrency, roomPool: 1000 },
    gateway: gw,
    peers,
    frames,
    hostCallCosts: costs,
    instructions: ir,
    handshakeInstructions: hsIr,
    memory: mem,
    emulator: emu,
    profile,
    directory: dir,
  };
  if (!o.smoke && o.only.length > 0) {
    // A partial run refreshes its sections of the last full run's results, each with its own date.
    const file = path.join(ROOT, "bench", "results", "bench.json");
    const last = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { date: result.date, machine: result.machine };
    last.dates = last.dates ?? {};
    last.machines = last.machines ?? {};
    const sections: Record<string, string[]> = {
      emulator: ["emulator"],
      profile: ["profile"],
      handshakes: ["gateway"],
      peers: ["peers"],
      frames: ["frames"],
      "host-calls": ["hostCallCosts"],
      instructions: ["instructions", "handshakeInstructions"],
      memory: ["memory"],
      directory: ["directory"],
    };
    for (const m of o.only) {
      for (const key of sections[m]) {
        last[key] = (result as Record<string, unknown>)[key];
        last.dates[key] = result.date;
        last.machines[key] = result.machine;
      }
    }
    fs.writeFileSync(file, JSON.stringify(last, null, 2) + "\n");
    console.log(`updated ${o.only.join(", ")} in bench/results/bench.json`);
  }
  if (!o.smoke && o.only.length === 0) {
    fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "bench", "results", "bench.json"), JSON.stringify(result, null, 2) + "\n");
    fs.mkdirSync(path.join(ROOT, "bench", "charts"), { recursive: true });
    const names = ["roundrobin", "maglev", "stateful-only", "wasm-passthrough", "plugin", "plugin-new-rooms"];
    fs.writeFileSync(
      path.join(ROOT, "bench", "charts", "handshake-latency.svg"),
      groupedBars(
        "WebSocket handshake latency through Envoy (median of rounds)",
        "ms",
        ["p50", "p99"],
        names.map((n) => ({ name: n, values: [gw!.summary[n].p50, gw!.summary[n].p99] })),
      ),
    );
    fs.writeFileSync(
      path.join(ROOT, "bench", "charts", "handshake-throughput.svg"),
      groupedBars("WebSocket handshakes per second through Envoy (median of rounds)", "handshakes/s", names, [
        { name: "handshakes/s", values: names.map((n) => gw!.summary[n].perSecond) },
      ]),
    );
    console.log("wrote bench/results/bench.json, bench/charts/handshake-latency.svg, bench/charts/handshake-throughput.svg");
  } else if (o.smoke) {
    console.log(JSON.stringify(result).slice(0, 400));
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
