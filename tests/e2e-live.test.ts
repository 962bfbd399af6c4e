// Churn without settling, through real Envoy (--concurrency 2) and real WebSocket pods: players
// reconnect ~50 ms after their socket closes, in lockstep with the rest of their room, and new rooms
// open every 10 ms with their players joining together, while the change is still reaching the
// gateway. Each scenario runs REPS times; a split in any run fails it (a flaky result here is a defect).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EnvoySystem } from "../tools/lib/system";
import { runLiveScenario, describeLive, LIVE_SCENARIOS, LiveScenario } from "../tools/lib/live";
import { scratchDir } from "../tools/lib/paths";

const REPS = 5;
const BASE = 24000;

async function repeat(scenario: LiveScenario, index: number): Promise<void> {
  const base = BASE + index * 50;
  for (let rep = 1; rep <= REPS; rep++) {
    const sys = new EnvoySystem("plugin", base, base + 1, scratchDir(`live-${scenario}-${rep}`));
    const r = await runLiveScenario(sys, scenario, { rooms: 120, players: 4, podBasePort: base + 10 });
    console.log(`run ${rep}/${REPS}: ${describeLive(r)}`);
    assert.equal(r.error, undefined);
    assert.equal(r.split, 0, `rooms split in run ${rep}: ${r.examples.join(" | ")}`);
    assert.equal(r.moved, 0, `rooms moved off a pod that stayed, run ${rep}`);
    assert.equal(r.dropped, 0, `sockets dropped on pods that stayed, run ${rep}`);
    assert.equal(r.unconnected, 0, `players never got back in, run ${rep}`);
    if (r.newOnDraining !== undefined) assert.equal(r.newOnDraining, 0, `new rooms on draining pods, run ${rep}`);
    assert.ok(r.newRooms > 100 && r.joins > 0);
  }
}

LIVE_SCENARIOS.forEach((scenario, i) => {
  test(`${scenario}, ${REPS} runs, players back at once and new rooms opening meanwhile: 0 split, 0 moved, 0 dropped`, () => repeat(scenario, i));
});
