// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The churn scenarios: one entry for the tests, `npm run compare` and the bench. Three engines share the
// result type and the drop count (result.ts): settled (players come back after the change settles),
// live (players rejoin at once and in lockstep while the gateway catches up) and two replicas behind an
// L4 balancer.
export { ChurnResult, DropWatch } from "./result";
export { runScenario, SCENARIOS, Scenario, SettledResult, RunOptions } from "./settled";
export {
  runLiveScenario,
  describeLive,
  percentiles,
  splitRooms,
  LIVE_SCENARIOS,
  LISTED_FAILURE_SCENARIOS,
  LiveScenario,
  LiveResult,
  LiveOptions,
} from "./live";
export { runReplicaScenario, ReplicaResult } from "./replicas";
