// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// `npm run trial`: a local trial of the plugin. Starts 3 demo game pods and a real Envoy on
// 127.0.0.1:10000 with build/envoy.wasm, checks that a room's players meet on one pod, prints how
// to connect, and runs until Ctrl-C. `--check` runs the same start-up and self-check, then exits.
// `--replicas N` runs N Envoy replicas sharing a room directory in a real etcd, behind a real L4
// balancer (HAProxy, mode tcp) on 127.0.0.1:10000, as an SLB spreads players over gateway replicas.
import path from "node:path";
import { startBed } from "./lib/gateway";
import { startReplicas } from "./lib/replicas";
import { join, closeAll } from "./lib/clients";
import { ROOT } from "./lib/paths";
import { TrialControl, ControlServer } from "./lib/control";
import { TrialPlayers } from "./lib/trial-players";

interface TrialOptions {
  listenPort: number;
  adminPort: number;
  podBasePort: number;
  controlPort: number;
  pods: number;
  replicas: number;
  healthChecks: boolean;
  check: boolean;
  help: boolean;
}

/** The flags are parsed by plain JavaScript, so that `npm run trial -- --help` answers before any set-up. */
const trialOptions: { parseTrialArgs(argv: string[]): TrialOptions; USAGE: string } = require(
  path.join(ROOT, "scripts", "trial-options.cjs"),
);

/** Joins 3 players to each of 3 rooms; returns a line per room, or throws if a room split. */
async function selfCheck(url: (room: string) => string): Promise<string[]> {
  const lines: string[] = [];
  for (const room of ["1", "2", "3"]) {
    const players = await Promise.all([0, 1, 2].map(() => join(url(room))));
    await closeAll(players);
    const pods = new Set(players.map((p) => p.pod));
    if (pods.size !== 1) throw new Error(`room demo:${room} split over ${[...pods].join(", ")}`);
    lines.push(`room demo:${room} -> ${players[0].pod} (3 players)`);
  }
  return lines;
}

async function main(): Promise<void> {
  const o = trialOptions.parseTrialArgs(process.argv.slice(2));
  if (o.help) {
    console.log(trialOptions.USAGE);
    return;
  }
  if (o.replicas > 1) return replicaTrial(o);
  const dir = path.join(ROOT, ".work", o.check ? `trial-check-${process.pid}` : "trial");
  console.log(`trial: starting ${o.pods} demo pods and Envoy (config in ${path.relative(ROOT, dir)}/)`);
  const bed = await startBed({
    name: "trial",
    dir,
    listenPort: o.listenPort,
    adminPort: o.adminPort,
    podBasePort: o.podBasePort,
    podCount: o.pods,
    pluginConfig: { logDecision: true },
    layout: { healthCheck: o.healthChecks },
  });
  const gw = bed.gw;
  let code = 0;
  const trial = new TrialControl([gw], bed.fleet);
  trial.players = new TrialPlayers((room) => gw.url("demo", room));
  const control = new ControlServer(trial);
  try {
    await control.listen(o.controlPort);
    await gw.waitMembership(o.pods);
    for (const l of await selfCheck((room) => gw.url("demo", room))) console.log(`trial: ${l}`);
    const url = `ws://127.0.0.1:${o.listenPort}/ws?appId=demo&roomId=1`;
    console.log(`
Room-affinity trial is running.
  Console:           http://127.0.0.1:${o.controlPort}/  (open it in a browser: watch rooms, start players, kill pods)
  Connect players:   npx wscat -c '${url}'   (or any WebSocket client)
                     each gets {"pod":"...","room":"demo:1"}; every player of a room gets the same pod
  Pods:              ${bed.fleet.pods.map((p) => `${p.id}=${p.address}`).join("  ")}  (GET /rooms on a pod lists its rooms)
  Envoy admin:       http://127.0.0.1:${o.adminPort}/stats?filter=room_affinity
  Access log:        ${path.relative(ROOT, path.join(dir, "access.log"))}
  Control API:       http://127.0.0.1:${o.controlPort}/  (change the cluster while players are connected)
${ControlServer.ROUTES.map((r) => `                     ${r}`).join("\n")}
  e.g.               curl -XPOST 127.0.0.1:${o.controlPort}/scale -d '{"count":6}'
Press Ctrl-C to stop.`);
    if (!o.check) {
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
        gw.envoy.exited.then(() => {
          console.error("trial: Envoy exited; see " + gw.envoy.logFile);
          code = 1;
          resolve();
        });
      });
    }
  } catch (e) {
    console.error(`trial: ${e instanceof Error ? e.message : e}`);
    code = 1;
  } finally {
    console.log("trial: stopping");
    await control.close().catch(() => undefined);
    await trial.close().catch(() => undefined);
    await bed.close();
  }
  process.exit(code);
}

/** `--replicas N`: N Envoys sharing a room directory (etcd), behind an L4 balancer on the listen port. */
async function replicaTrial(o: TrialOptions): Promise<void> {
  console.log(`trial: starting ${o.pods} demo pods, etcd, ${o.replicas} Envoy replicas and an L4 balancer`);
  const set = await startReplicas({
    name: o.check ? `trial-replicas-check` : "trial-replicas",
    basePort: o.listenPort,
    podBasePort: o.podBasePort,
    replicas: o.replicas,
    pods: o.pods,
    pluginConfig: { logDecision: true },
    layout: { healthCheck: o.healthChecks },
  });
  const trial = new TrialControl(set.gateways, set.fleet, set.etcd);
  trial.players = new TrialPlayers((room) => set.url(room, "demo"));
  const control = new ControlServer(trial);
  let code = 0;
  try {
    await control.listen(o.controlPort);
    for (const l of await selfCheck((room) => set.url(room, "demo"))) console.log(`trial: ${l}`);
    console.log(`
Room-affinity trial is running with ${o.replicas} gateway replicas.
  Console:           http://127.0.0.1:${o.controlPort}/  (open it in a browser: watch rooms, start players, kill pods)
  Connect players:   npx wscat -c '${set.url("1", "demo")}'   (the L4 balancer spreads connections over the replicas)
  Replicas:          ${set.gateways.map((gw, i) => `gw${i + 1} listen 127.0.0.1:${gw.port} admin http://127.0.0.1:${gw.adminPort}`).join("\n                     ")}
  Room directory:    etcd ${set.etcd!.url} (keys room-affinity/<room hash>)
  Pods:              ${set.fleet.pods.map((p) => `${p.id}=${p.address}`).join("  ")}
  Control API:       http://127.0.0.1:${o.controlPort}/  (pod operations apply to every replica)
${ControlServer.ROUTES.map((r) => `                     ${r}`).join("\n")}
  e.g.               curl -XPOST 127.0.0.1:${o.controlPort}/gateways/gw1/restart
Press Ctrl-C to stop.`);
    if (!o.check) {
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    }
  } catch (e) {
    console.error(`trial: ${e instanceof Error ? e.message : e}`);
    code = 1;
  } finally {
    console.log("trial: stopping");
    await control.close().catch(() => undefined);
    await trial.close().catch(() => undefined);
    await set.close();
  }
  process.exit(code);
}

main().catch((e) => {
  console.error(`trial: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
