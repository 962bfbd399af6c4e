// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// `npm run compare`: the churn scenarios against this plugin and the setups users would pick instead,
// in one run on this machine, with the same demo pods and clients. Writes bench/results/compare.json
// and bench/charts/rooms-moved.svg, and prints the table. `--smoke` runs a tiny version (CI).
import fs from "node:fs";
import path from "node:path";
import { ROOT, scratchDir } from "../tools/lib/paths";
import { NginxHashSystem, NginxLuaSystem, HaproxySystem } from "./systems";
import { EnvoySystem, System } from "../tools/lib/system";
import { GatewayReplicas } from "../tools/lib/replicas";
import type { Layout } from "../tools/lib/envoy-config";
import { runScenario, SCENARIOS, Scenario, SettledResult } from "../tools/lib/churn";
import {
  runLiveScenario,
  describeLive,
  percentiles,
  LIVE_SCENARIOS,
  LISTED_FAILURE_SCENARIOS,
  LiveScenario,
  LiveResult,
} from "../tools/lib/churn";
import { runReplicaScenario, ReplicaResult } from "../tools/lib/churn";
import { makeReplicated, REPLICATED_NAMES } from "./replicated";
import { groupedBars } from "./svg";

export const SYSTEM_NAMES = ["plugin", "plugin-x2", "maglev", "nginx", "haproxy", "nginx-lua"] as const;

/** `envoy`: layout settings of the Envoy systems (no active health checks with --no-health-checks). */
export function makeSystem(name: string, dir: string, envoy: Partial<Layout> = {}): System {
  switch (name) {
    case "plugin":
      return new EnvoySystem("plugin", 22000, 22001, dir, {}, envoy);
    case "plugin-x2":
      // Two replicas behind an L4 balancer, sharing an etcd directory: what Higress's two replicas run.
      return new GatewayReplicas(
        "plugin-x2",
        "Envoy + plugin x2 + etcd directory",
        "two replicas behind an L4 balancer, etcd room directory",
        {
          name: "compare-plugin-x2",
          basePort: 22000,
          layout: envoy,
        },
      );
    case "maglev":
      return new EnvoySystem("maglev", 22000, 22001, dir, {}, envoy);
    case "nginx":
      return new NginxHashSystem(22000, dir);
    case "haproxy":
      return new HaproxySystem(22000, 22005, dir);
    case "nginx-lua":
      return new NginxLuaSystem(22000, dir);
  }
  throw new Error(`unknown system ${name} (known: ${SYSTEM_NAMES.join(", ")})`);
}

interface Options {
  smoke: boolean;
  /** Layout of the Envoy systems (`--no-health-checks`). */
  envoy: Partial<Layout>;
  rooms: number;
  players: number;
  systems: string[];
  scenarios: Scenario[];
  /** No-settle scenarios (tools/lib/churn/live.ts), each run liveReps times per system. */
  live: LiveScenario[];
  liveReps: number;
  liveRooms: number;
  /** Systems of the two-replica scenario (bench/replicated.ts). */
  replicated: string[];
  write: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    smoke: false,
    envoy: {},
    rooms: 150,
    players: 2,
    systems: [...SYSTEM_NAMES],
    scenarios: [...SCENARIOS],
    live: [...LIVE_SCENARIOS, ...LISTED_FAILURE_SCENARIOS],
    liveReps: 3,
    liveRooms: 120,
    replicated: [...REPLICATED_NAMES],
    write: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    // Smoke: every system's start, membership change, drain and reload paths, tiny.
    if (a === "--smoke") {
      o.smoke = true;
      o.rooms = 8;
      o.write = false;
      o.scenarios = ["scale-out", "rolling-update", "config-reload"];
      o.live = ["pod-killed"];
      o.liveReps = 1;
      o.liveRooms = 8;
      o.replicated = ["plugin+directory", "haproxy"];
      o.systems = SYSTEM_NAMES.filter((s) => s !== "plugin-x2");
    } else if (a === "--rooms") o.rooms = Number(argv[++i]);
    else if (a === "--players") o.players = Number(argv[++i]);
    else if (a === "--systems") o.systems = argv[++i].split(",");
    else if (a === "--scenarios") o.scenarios = argv[++i].split(",") as Scenario[];
    else if (a === "--live") {
      const v = argv[++i];
      o.live = v === "none" ? [] : (v.split(",") as LiveScenario[]);
    } else if (a === "--live-reps") o.liveReps = Number(argv[++i]);
    else if (a === "--live-rooms") o.liveRooms = Number(argv[++i]);
    else if (a === "--replicated") {
      const v = argv[++i];
      o.replicated = v === "none" ? [] : v.split(",");
    } else if (a === "--no-write") o.write = false;
    else if (a === "--no-health-checks") o.envoy = { ...o.envoy, healthCheck: false };
    else if (a === "--outlier-detection") o.envoy = { ...o.envoy, outlierDetection: true };
    else
      throw new Error(
        `unknown option ${a} (options: --smoke --rooms N --players N --systems a,b --scenarios x,y|none --live x,y|none --live-reps N --live-rooms N --replicated x,y|none --no-health-checks --outlier-detection --no-write)`,
      );
  }
  if ((o.scenarios as string[]).includes("none")) o.scenarios = [];
  for (const s of o.scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (known: ${SCENARIOS.join(", ")})`);
  for (const s of o.replicated)
    if (!(REPLICATED_NAMES as readonly string[]).includes(s))
      throw new Error(`unknown replicated system ${s} (known: ${REPLICATED_NAMES.join(", ")})`);
  const liveKnown: readonly string[] = [...LIVE_SCENARIOS, ...LISTED_FAILURE_SCENARIOS];
  for (const s of o.live) if (!liveKnown.includes(s)) throw new Error(`unknown no-settle scenario ${s} (known: ${liveKnown.join(", ")})`);
  for (const s of o.systems) makeSystem(s, "/tmp");
  return o;
}

export function table(results: SettledResult[]): string {
  const rows = [
    "| system | scenario | rooms split | pinned rooms moved | WebSockets dropped | reconnects on the right pod | new rooms on draining pods |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const right = r.reconnects ? `${r.right}/${r.reconnects} (${((100 * r.right) / r.reconnects).toFixed(1)}%)` : "-";
    rows.push(
      `| ${r.system} | ${r.scenario} | ${r.error ? `error: ${r.error}` : r.split} | ${r.moved} | ${r.dropped} | ${right} | ${r.newOnDraining ?? "-"} |`,
    );
  }
  return rows.join("\n");
}

/** Per system and no-settle scenario: totals over the repetitions, and the worst single run. */
export function liveTable(live: LiveResult[]): string {
  const rows = [
    "| system | scenario | runs | rooms split (total; worst run) | moved | dropped | failed joins per run | dead pod's rooms together again after the death, p50/p99/max | longest close-to-rejoin of a room's players | longest handshake | not together | new rooms on draining |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const keys = [...new Set(live.map((r) => `${r.system}|${r.scenario}`))];
  for (const k of keys) {
    const runs = live.filter((r) => `${r.system}|${r.scenario}` === k);
    const ok = runs.filter((r) => !r.error);
    const sum = (f: (r: LiveResult) => number) => ok.reduce((n, r) => n + f(r), 0);
    const worst = Math.max(0, ...ok.map((r) => r.split));
    const drain = ok.some((r) => r.newOnDraining !== undefined) ? String(sum((r) => r.newOnDraining ?? 0)) : "-";
    const errs = runs.length - ok.length;
    const failed = ok.map((r) => r.failedJoins).join(", ");
    const regroup = percentiles(ok.flatMap((r) => r.regroupMs ?? []));
    const fromClose = percentiles(ok.flatMap((r) => r.regroupFromCloseMs ?? []));
    // Results written before the handshake was timed have none.
    const timed = ok.filter((r) => r.longestHandshakeMs !== undefined);
    const longest = timed.length ? `${Math.max(...timed.map((r) => r.longestHandshakeMs))} ms` : "-";
    rows.push(
      `| ${runs[0].system} | ${runs[0].scenario} | ${runs.length}${errs ? ` (${errs} failed)` : ""} | ${sum((r) => r.split)}; ${worst} | ${sum((r) => r.moved)} | ${sum((r) => r.dropped)} | ${failed} | ${regroup} | ${fromClose} | ${longest} | ${sum((r) => r.notRegrouped ?? 0)} | ${drain} |`,
    );
  }
  return rows.join("\n");
}

export function replicaTable(results: ReplicaResult[]): string {
  const rows = ["| system | rooms split | rooms moved | WebSockets dropped | later players on the room's pod |", "|---|---|---|---|---|"];
  for (const r of results) {
    const right = r.reconnects ? `${r.right}/${r.reconnects} (${((100 * r.right) / r.reconnects).toFixed(1)}%)` : "-";
    rows.push(`| ${r.system} | ${r.error ? `error: ${r.error}` : r.split} | ${r.moved} | ${r.dropped} | ${right} |`);
  }
  return rows.join("\n");
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const results: SettledResult[] = [];
  const systems: Record<string, { label: string; key: string; how: string }> = {};
  for (const name of o.systems) {
    for (const scenario of o.scenarios) {
      const sys = makeSystem(name, scratchDir(`compare-${name}-${scenario}`), o.envoy);
      systems[name] = { label: sys.label, key: sys.key, how: sys.how };
      const r = await runScenario(sys, scenario, { rooms: o.rooms, players: o.players, podBasePort: 22100 });
      results.push(r);
      console.log(
        `${name.padEnd(10)} ${scenario.padEnd(19)} split ${r.split}  moved ${r.moved}  dropped ${r.dropped}  right ${r.right}/${r.reconnects}${r.newOnDraining !== undefined ? `  new-on-draining ${r.newOnDraining}` : ""}  ${r.seconds.toFixed(1)} s${r.error ? `  ERROR ${r.error}` : ""}`,
      );
    }
  }
  // No settling: rounds interleave the systems, so a noisy minute hits every system alike.
  const live: LiveResult[] = [];
  for (let rep = 1; rep <= o.liveReps; rep++) {
    for (const scenario of o.live) {
      for (const name of o.systems) {
        const sys = makeSystem(name, scratchDir(`compare-live-${name}-${scenario}`), o.envoy);
        systems[name] = { label: sys.label, key: sys.key, how: sys.how };
        const r = await runLiveScenario(sys, scenario, { rooms: o.liveRooms, players: 4, podBasePort: 22100 });
        live.push(r);
        console.log(`round ${rep}/${o.liveReps} ${describeLive(r)}`);
      }
    }
  }
  // Two replicas behind an L4 balancer, a scale-out between a room's players, then a replica restart.
  const replicated: ReplicaResult[] = [];
  const replicatedSystems: Record<string, { label: string; how: string }> = {};
  for (const name of o.replicated) {
    const sys = makeReplicated(name, 22300);
    replicatedSystems[name] = { label: sys.label, how: sys.how };
    const r = await runReplicaScenario(sys, { rooms: o.smoke ? 10 : o.rooms, podBasePort: 22400 });
    replicated.push(r);
    console.log(
      `two replicas: ${name.padEnd(17)} split ${r.split}  moved ${r.moved}  dropped ${r.dropped}  right ${r.right}/${r.reconnects}  ${r.seconds.toFixed(1)} s${r.error ? `  ERROR ${r.error}` : ""}`,
    );
  }
  console.log("\n" + table(results) + "\n\n" + liveTable(live) + "\n\n" + replicaTable(replicated));
  const errors = [...results, ...live, ...replicated].filter((r) => r.error);
  if (o.write) {
    // A section not run this time (`--scenarios none`, `--live none`, `--replicated none`) keeps its last results;
    // the no-settle results go to the table of the health-check setting they ran with.
    const file = path.join(ROOT, "bench", "results", "compare.json");
    const prev = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    const now = new Date().toISOString();
    const withHealthChecks = o.envoy.healthCheck !== false;
    const liveRun = live.length
      ? { date: now, rooms: o.liveRooms, players: 4, reps: o.liveReps, healthChecks: withHealthChecks, results: live }
      : null;
    const out = {
      date: results.length ? now : (prev.date ?? now),
      rooms: results.length ? o.rooms : (prev.rooms ?? o.rooms),
      players: results.length ? o.players : (prev.players ?? o.players),
      systems: results.length || live.length ? systems : (prev.systems ?? systems),
      results: results.length ? results : (prev.results ?? []),
      // Two no-settle tables: with Envoy's active health checks, and without them (as Higress usually runs).
      live: liveRun && withHealthChecks ? liveRun : prev.live,
      liveWithoutHealthChecks: liveRun && !withHealthChecks ? liveRun : prev.liveWithoutHealthChecks,
      replicated: replicated.length ? { date: now, rooms: o.rooms, systems: replicatedSystems, results: replicated } : prev.replicated,
    };
    fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "bench", "results", "compare.json"), JSON.stringify(out, null, 2) + "\n");
    fs.mkdirSync(path.join(ROOT, "bench", "charts"), { recursive: true });
    if (results.length) {
      const scen = o.scenarios.filter((s) => s !== "new-source-address");
      fs.writeFileSync(
        path.join(ROOT, "bench", "charts", "rooms-moved.svg"),
        groupedBars(
          `Pinned rooms moved per scenario (${o.rooms} rooms, lower is better)`,
          "rooms moved",
          scen,
          o.systems.map((name) => ({
            name,
            values: scen.map((s) => {
              const r = results.find((x) => x.system === name && x.scenario === s);
              return r && !r.error ? r.moved : NaN;
            }),
          })),
        ),
      );
      fs.writeFileSync(
        path.join(ROOT, "bench", "charts", "websockets-dropped.svg"),
        groupedBars(
          `Open WebSockets dropped by the gateway per scenario (${o.rooms * o.players} open, lower is better)`,
          "WebSockets dropped",
          scen,
          o.systems.map((name) => ({
            name,
            values: scen.map((s) => {
              const r = results.find((x) => x.system === name && x.scenario === s);
              return r && !r.error ? r.dropped : NaN;
            }),
          })),
        ),
      );
    }
    console.log(
      `\nwrote bench/results/compare.json${results.length ? ", bench/charts/rooms-moved.svg, bench/charts/websockets-dropped.svg" : ""}`,
    );
  }
  if (errors.length) {
    console.error(`${errors.length} scenario run(s) failed`);
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
