// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What every no-settle run must show, through one gateway or several replicas (e2e-live, e2e-replicas-live).
import assert from "node:assert/strict";
import { LiveResult } from "../tools/lib/churn";

/**
 * 0 split, 0 moved, 0 dropped, every player back, every dead pod's room together again, no new room on a
 * draining pod, and no join failed because of a dead pod: what may remain is the plugin refusing a
 * player whose room was just recorded elsewhere (its retry joins), and, with health checks, the instants
 * before newly added pods pass their first check.
 */
export function assertLiveRun(r: LiveResult, rep: number, healthChecks: boolean): void {
  assert.equal(r.error, undefined);
  assert.equal(r.split, 0, `rooms split in run ${rep}: ${r.examples.join(" | ")}`);
  assert.equal(r.moved, 0, `rooms moved off a pod that stayed, run ${rep}`);
  assert.equal(r.dropped, 0, `sockets dropped on pods that stayed, run ${rep}`);
  assert.equal(r.unconnected, 0, `players never got back in, run ${rep}`);
  assert.equal(r.notRegrouped, 0, `rooms of a dead pod not together again on one pod, run ${rep}`);
  if (r.newOnDraining !== undefined) assert.equal(r.newOnDraining, 0, `new rooms on draining pods, run ${rep}`);
  assert.ok(r.newRooms > 100 && r.joins > 0);
  assert.equal(r.failedJoins - r.refusedElsewhere - r.noHealthyUpstream, 0, `joins failed for another reason, run ${rep}`);
  if (!healthChecks) assert.equal(r.noHealthyUpstream, 0, `no healthy upstream without health checks, run ${rep}`);
}
