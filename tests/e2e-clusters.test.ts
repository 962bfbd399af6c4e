// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// End-to-end: one room key routed to two clusters with pods of their own (a canary route on a header),
// through real Envoy (--concurrency 2) and real stateful_session. A worker assumes the routed cluster
// it has seen (assumed-cluster.ts), so the first players routed to the second cluster are pinned to
// the first cluster's pod, which Envoy does not honour: each such player must get a room of its own
// cluster, and no room of the first cluster may move. Every player of a room carries the room key's
// hash, whichever cluster its worker assumed, so none is refused while a worker learns of the second.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, Gateway } from "../tools/lib/gateway";
import { PodFleet } from "../tools/lib/pods";
import { join, closeAll, mapLimit } from "../tools/lib/clients";
import { clusterHosts } from "../tools/lib/envoy";
import { CLUSTER, SECOND_CLUSTER } from "../tools/lib/envoy-config";
import { waitFor } from "../tools/lib/wait";

const CANARY_HEADER = "x-canary";
const ROOMS = 40;
const ROUNDS = 3;
let fleet: PodFleet;
let gw: Gateway;
let podsA: string[];
let podsB: string[];

before(async () => {
  fleet = new PodFleet(20411);
  await fleet.start(6);
  const all = fleet.endpoints();
  // A pod greets with its id.
  podsA = fleet.pods.slice(0, 3).map((p) => p.id);
  podsB = fleet.pods.slice(3).map((p) => p.id);
  gw = await startGateway({
    name: "e2e-clusters",
    listenPort: 20400,
    adminPort: 20401,
    endpoints: all.slice(0, 3),
    layout: { secondCluster: { matchHeader: CANARY_HEADER, endpoints: all.slice(3) } },
  });
  for (const cluster of [CLUSTER, SECOND_CLUSTER]) {
    await waitFor(
      `${cluster} healthy`,
      async () => (await clusterHosts(gw.adminPort, cluster)).filter((h) => h.state === "healthy").length === 3,
      15000,
    );
  }
});

after(async () => {
  await gw?.close();
  await fleet?.stopAll();
});

/** room -> pod of `perRoom` players of each room joining at once (through the canary cluster if `canary`);
 *  throws if a player is refused or a room's players split. */
async function joinAll(rooms: string[], perRoom: number, canary: boolean): Promise<Map<string, string>> {
  const players = rooms.flatMap((r) => Array.from({ length: perRoom }, () => r));
  const headers: Record<string, string> = canary ? { [CANARY_HEADER]: "1" } : {};
  const joined = await mapLimit(players, 250, (r) => join(gw.url("a1", r), { headers }));
  await closeAll(joined);
  const pods = new Map<string, string>();
  joined.forEach((j, i) => {
    const seen = pods.get(players[i]);
    assert.ok(seen === undefined || seen === j.pod, `${canary ? "canary" : "main"} room ${players[i]} split: ${seen}, ${j.pod}`);
    pods.set(players[i], j.pod);
  });
  return pods;
}

test(`one room key on two clusters: one room per cluster, and no room of the assumed cluster moves (${ROUNDS} rounds of ${ROOMS} rooms)`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    // A configuration of its own: every worker starts again from no assumption.
    await gw.applyPluginConfig({ sharedDataPrefix: `clusters-${round}` });
    // Both workers past their first checks of the routed cluster: they assume the main one now.
    await joinAll(
      Array.from({ length: 100 }, (_, i) => `warm-${i}`),
      1,
      false,
    );
    const rooms = Array.from({ length: ROOMS }, (_, i) => `r${round}-${i}`);
    const main = await joinAll(rooms, 1, false);
    const repins = await gw.stat("repins_total");
    const refused = await gw.stat("rejects.room_elsewhere_total");
    // Every room's canary players at once, each room's racing on both workers.
    const canary = await joinAll(rooms, 3, true);
    for (const r of rooms) {
      assert.ok(podsA.includes(main.get(r)!), `room ${r} on ${main.get(r)}`);
      assert.ok(podsB.includes(canary.get(r)!), `canary room ${r} on ${canary.get(r)}`);
    }
    // Both rooms of each key hold, whichever cluster a player is routed to.
    assert.deepEqual(await joinAll(rooms, 2, false), main, "the main cluster's rooms never moved");
    assert.deepEqual(await joinAll(rooms, 2, true), canary, "the canary cluster's rooms hold");
    assert.equal(await gw.stat("repins_total"), repins, "no room was moved");
    assert.equal(await gw.stat("rejects.room_elsewhere_total"), refused, "no player was refused");
  }
});
