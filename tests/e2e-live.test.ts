// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Churn without settling, through real Envoy (--concurrency 2) and real WebSocket pods: players
// reconnect ~50 ms after their socket closes, in lockstep with the rest of their room, and new rooms
// open every 10 ms with their players joining together, while the change is still reaching the
// gateway. Each scenario runs REPS times; a split in any run fails it (a flaky result here is a defect).
import { test } from "node:test";
import { EnvoySystem } from "../tools/lib/system";
import assert from "node:assert/strict";
import { runLiveScenario, describeLive, splitRooms, LIVE_SCENARIOS, LISTED_FAILURE_SCENARIOS, LiveScenario } from "../tools/lib/churn";
import { scratchDir } from "../tools/lib/paths";
import { assertLiveRun } from "./live-checks";

const BASE = 24000;

/** With the gateway's active health checks (the trial's default), and without (as Higress usually runs). */
const MODES = [
  { name: "with health checks", reps: 5, layout: {} },
  { name: "without health checks", reps: 3, layout: { healthCheck: false } },
];

async function repeat(scenario: LiveScenario, index: number, mode: (typeof MODES)[number], reps = mode.reps): Promise<void> {
  const base = BASE + index * 50;
  const REPS = reps;
  for (let rep = 1; rep <= REPS; rep++) {
    const sys = new EnvoySystem("plugin", base, base + 1, scratchDir(`live-${scenario}-${rep}`), {}, mode.layout);
    const r = await runLiveScenario(sys, scenario, { rooms: 120, players: 4, podBasePort: base + 10 });
    console.log(`${mode.name}, run ${rep}/${REPS}: ${describeLive(r)}`);
    assertLiveRun(r, rep, mode.layout.healthCheck !== false);
  }
}

test("the split check counts a room whose players were on two pods at once, dead or alive, and only then", () => {
  const at = (pod: string, open: number, close: number) => ({ pod, open, close, ours: true });
  const deadAt = new Map([
    ["dead", 100],
    ["restarted", 100],
  ]);
  const backAt = new Map([["restarted", 300]]);
  const rooms = new Map([
    ["two live pods at once", [{ sessions: [at("a", 10, 500)] }, { sessions: [at("b", 20, 600)] }]],
    ["a live pod beside the dead one before it died", [{ sessions: [at("dead", 0, 1000)] }, { sessions: [at("a", 50, 900)] }]],
    ["one after the other", [{ sessions: [at("a", 10, 200)] }, { sessions: [at("b", 300, 600)] }]],
    ["moved off the dead pod", [{ sessions: [at("dead", 0, 1000), at("a", 150, 900)] }, { sessions: [at("a", 160, 900)] }]],
    // The client saw the 101 just after the kill, and the close a delayed-close later.
    ["seen open on the dead pod just after its death", [{ sessions: [at("dead", 105, 205)] }, { sessions: [at("a", 150, 900)] }]],
    ["on the pod back after a crash, beside another", [{ sessions: [at("restarted", 350, 900)] }, { sessions: [at("a", 400, 900)] }]],
  ]);
  assert.deepEqual(
    splitRooms(rooms, deadAt, backAt).map((x) => x.slice(0, x.indexOf(":"))),
    ["two live pods at once", "a live pod beside the dead one before it died", "on the pod back after a crash, beside another"],
  );
});

for (const mode of MODES) {
  LIVE_SCENARIOS.forEach((scenario, i) => {
    test(`${scenario}, ${mode.name}, ${mode.reps} runs, players back at once and new rooms opening meanwhile: 0 split, 0 moved, 0 dropped, no join failed by a dead pod`, () =>
      repeat(scenario, i, mode));
  });
  LISTED_FAILURE_SCENARIOS.forEach((scenario, i) => {
    test(`${scenario}, endpoint listed throughout, ${mode.name}, 3 runs: 0 split, 0 moved, 0 dropped, no join failed by the dead pod`, () =>
      repeat(scenario, LIVE_SCENARIOS.length + i, mode, 3));
  });
}
