// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Churn without settling through two gateway replicas: two real Envoys (--concurrency 2, join retries
// on) behind a real L4 balancer that alternates replicas per connection, sharing a real etcd as the room
// directory, in front of real WebSocket pods. A room's players reach both replicas, reconnect ~50 ms
// after their socket closes, and new rooms open every 10 ms while each replica notices the change on
// its own (its own health checks, its own moment of the endpoint update).
import { test } from "node:test";
import { GatewayReplicas } from "../tools/lib/replicas";
import { runLiveScenario, describeLive, LiveScenario } from "../tools/lib/churn";
import { assertLiveRun } from "./live-checks";

const BASE = 27000;

const MODES = [
  { name: "with health checks", layout: {} },
  { name: "without health checks", layout: { healthCheck: false } },
];

const SCENARIOS: LiveScenario[] = ["pod-killed", "pod-killed-listed", "pod-hung", "node-lost", "crash-loop", "scale-in", "rolling-update"];
/** Runs per scenario and mode (more for a measurement: REPLICA_LIVE_REPS=5). */
const REPS = Number(process.env.REPLICA_LIVE_REPS ?? 2);

async function repeat(scenario: LiveScenario, base: number, mode: (typeof MODES)[number]): Promise<void> {
  for (let rep = 1; rep <= REPS; rep++) {
    const sys = new GatewayReplicas("plugin", "Envoy + plugin x2 + etcd", "", {
      name: `rlive-${scenario}-${rep}`,
      basePort: base,
      layout: mode.layout,
    });
    const r = await runLiveScenario(sys, scenario, { rooms: 120, players: 4, podBasePort: base + 10 });
    console.log(`two replicas, ${mode.name}, run ${rep}/${REPS}: ${describeLive(r)}`);
    assertLiveRun(r, rep, mode.layout.healthCheck !== false);
  }
}

MODES.forEach((mode, m) => {
  SCENARIOS.forEach((scenario, i) => {
    test(`two replicas, ${scenario}, ${mode.name}, ${REPS} runs: 0 split, 0 moved, 0 dropped, no join failed by a dead pod`, () =>
      repeat(scenario, BASE + (m * SCENARIOS.length + i) * 40, mode));
  });
});
