// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Two gateway replicas behind a real L4 balancer (HAProxy, mode tcp, round robin per connection), each
// a real Envoy (--concurrency 2) with the plugin, sharing a room directory in a real etcd, in front of
// real WebSocket pods. Players of one room arrive through different replicas, as behind an SLB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startReplicas, ReplicaSet } from "../tools/lib/replicas";
import { join, closeAll, mapLimit, Joined } from "../tools/lib/clients";
import { assignment, moved, rooms, roomIdOf } from "../tools/lib/players";
import { waitFor } from "../tools/lib/wait";
import { WasmVm, newProcess } from "../tools/lib/host-emulator";
import { WASM_ENVOY } from "../tools/lib/paths";

/** Players join one after another through the balancer: consecutive players alternate replicas. */
async function alternate(set: ReplicaSet, roomIds: string[], perRoom: number): Promise<Joined[]> {
  return mapLimit(
    roomIds.flatMap((r) => Array(perRoom).fill(r)),
    1,
    (room) => join(set.url(room)),
  );
}

/** Players join through the balancer, many at once. */
async function together(set: ReplicaSet, roomIds: string[], perRoom: number): Promise<Joined[]> {
  return mapLimit(
    roomIds.flatMap((r) => Array(perRoom).fill(r)),
    100,
    (room) => join(set.url(room)),
  );
}

/** A player that retries every 50 ms while the gateways notice a dead pod, as clients do; counts its failed attempts. */
async function joinRetrying(set: ReplicaSet, room: string, failures = { count: 0 }): Promise<Joined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await join(set.url(room));
    } catch (e) {
      failures.count++;
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function scaleOut(set: ReplicaSet, to: number): Promise<void> {
  await set.fleet.start(to - set.fleet.pods.length);
  set.publish();
  await set.settle();
}

test("(a) a room's players arrive through different replicas, with a scale-out 3 -> 6 between them: 0 split", async () => {
  const set = await startReplicas({ name: "rep-a", basePort: 25000 });
  try {
    const all = rooms("a", 200);
    // One player per room, alternating replicas: half the rooms are known to gw1 only, half to gw2.
    const first = await alternate(set, all, 1);
    const before = assignment(first);
    await scaleOut(set, 6);
    // Two more per room, alternating: every room is joined through both replicas after the scale-out.
    const later = await alternate(set, all, 2);
    const after = assignment([...first, ...later]);
    const found = await set.stat("directory.found_total");
    console.log(`(a) ${found} joins found their room in the directory; split ${after.split.length}`);
    assert.deepEqual(after.split, []);
    assert.deepEqual(moved(before.pods, after.pods), []);
    assert.ok(found >= 200, "each replica should have found the rooms the other placed");
    assert.equal(await set.stat("directory.failures_total"), 0);
    await closeAll([...first, ...later]);
  } finally {
    await set.close();
  }
});

test("(a, control) the same players without the directory: rooms split (what the directory is for)", async () => {
  const set = await startReplicas({ name: "rep-a0", basePort: 25250, directory: false });
  try {
    const all = rooms("a0", 200);
    const first = await alternate(set, all, 1);
    await scaleOut(set, 6);
    const later = await alternate(set, all, 2);
    const split = assignment([...first, ...later]).split.length;
    console.log(`(a, control) without the directory: ${split} of 200 rooms split`);
    assert.ok(split > 20, `expected many split rooms without a directory, got ${split}`);
    await closeAll([...first, ...later]);
  } finally {
    await set.close();
  }
});

test("(b) a replica restarts (its table is gone) after a scale-out: its players still reach their rooms' pods, 0 moved", async () => {
  const set = await startReplicas({ name: "rep-b", basePort: 25050 });
  try {
    const all = rooms("b", 200);
    const first = await alternate(set, all, 2);
    const before = assignment(first);
    assert.deepEqual(before.split, []);
    await scaleOut(set, 6);
    await set.gateways[0].restart();
    await waitFor(
      "the balancer to send to the restarted replica again",
      async () => (await set.gateways[0].stat("membership.fetches_total")) > 0,
      15000,
    );
    const later = await alternate(set, all, 2);
    const after = assignment([...first, ...later]);
    console.log(`(b) after the restart: ${await set.gateways[0].stat("directory.found_total")} rooms found by the restarted replica`);
    assert.deepEqual(after.split, []);
    assert.deepEqual(moved(before.pods, after.pods), []);
    assert.ok((await set.gateways[0].stat("directory.found_total")) > 0);
    await closeAll([...first, ...later]);
  } finally {
    await set.close();
  }
});

test("(c) a pod is killed and its players reconnect at once through both replicas: each room re-pinned to one pod", async () => {
  const set = await startReplicas({ name: "rep-c", basePort: 25100 });
  try {
    const all = rooms("c", 150);
    const open = await alternate(set, all, 2);
    const before = assignment(open);
    const victim = set.fleet.pods[1];
    const orphans = [...before.pods].filter(([, p]) => p === victim.id).map(([r]) => r);
    await victim.kill("SIGKILL");
    // Everyone of the victim's rooms comes back at once (the gateways retry joins the dead pod refuses).
    const failures = { count: 0 };
    const back = await mapLimit(
      orphans.flatMap((r) => [r, r, r, r]),
      200,
      (room) => joinRetrying(set, room, failures),
    );
    const after = assignment(back);
    console.log(
      `(c) ${orphans.length} rooms re-pinned; failed joins ${failures.count}; directory conflicts ${await set.stat("directory.conflicts_total")}, upgrades held ${await set.stat("directory.held_upgrades_total")}`,
    );
    assert.deepEqual(after.split, []);
    for (const pod of after.pods.values()) assert.notEqual(pod, victim.id);
    // The replicas agree with the directory on every re-pinned room.
    const entries = await set.etcd!.entries("room-affinity/");
    assert.ok(entries.size >= all.length);
    await closeAll([...open.filter((j) => j.pod !== victim.id), ...back]);
  } finally {
    await set.close();
  }
});

test("(d) a rolling update across replicas: old rooms stay on their draining pods through both replicas, new rooms only on new pods, then old rooms move as one", async () => {
  const set = await startReplicas({ name: "rep-d", basePort: 25300 });
  try {
    const all = rooms("d", 150);
    const open = await alternate(set, all, 2);
    const before = assignment(open);
    const old = [...set.fleet.pods];
    await set.fleet.start(3, "v2");
    for (const p of old) set.fleet.setState(p.id, "draining");
    set.publish();
    await set.settle();
    // Old rooms' players come back through both replicas: they belong on their draining pods.
    const rejoin = await alternate(set, all, 2);
    assert.deepEqual(moved(before.pods, assignment(rejoin).pods), [], "old rooms left their draining pods");
    const fresh = await together(set, rooms("d-new", 100), 2);
    const onOld = fresh.filter((j) => !j.pod.startsWith("v2-"));
    assert.deepEqual(
      onOld.map((j) => `${j.room}@${j.pod}`),
      [],
      "new rooms on draining pods",
    );
    // The old pods stop: every old room's players come back at once through both replicas.
    for (const p of old) set.fleet.setState(p.id, "stopped");
    set.publish();
    await Promise.all(old.map((p) => p.kill("SIGTERM")));
    const back = await mapLimit(
      all.flatMap((r) => [r, r, r]),
      150,
      (room) => joinRetrying(set, room),
    );
    const after = assignment(back);
    console.log(`(d) ${all.length} old rooms moved onto v2 pods; directory conflicts ${await set.stat("directory.conflicts_total")}`);
    assert.deepEqual(after.split, []);
    for (const pod of after.pods.values()) assert.ok(pod.startsWith("v2-"), pod);
    await closeAll([...rejoin, ...fresh, ...back]);
  } finally {
    await set.close();
  }
});

test("(e) etcd stopped: joins fail open (counted), rooms a replica knows stay put; etcd back: new rooms are shared again", async () => {
  const set = await startReplicas({ name: "rep-e", basePort: 25150 });
  try {
    const known = rooms("e", 100);
    const first = await alternate(set, known, 2);
    const before = assignment(first);
    await set.etcd!.stop();
    const failuresBefore = await set.stat("directory.failures_total");
    // Known rooms, through the replica that knows them and the other one: joins still succeed.
    const during = await alternate(set, known, 2);
    const fresh = await together(set, rooms("e-new", 50), 2);
    assert.equal(during.length, 200);
    assert.equal(fresh.length, 100);
    assert.deepEqual(moved(before.pods, assignment(during).pods), [], "rooms moved while the directory was down");
    assert.ok((await set.stat("directory.failures_total")) > failuresBefore, "failures must be counted");
    await set.etcd!.start();
    // Back: a room placed through one replica is found by the other.
    await waitFor(
      "a directory lease again",
      async () => {
        const j = await join(set.url(`probe${Date.now()}`));
        await closeAll([j]);
        return (await set.etcd!.entries("room-affinity/")).size > 0;
      },
      20000,
      500,
    );
    const shared = rooms("e-back", 50);
    const a = await alternate(set, shared, 1);
    await scaleOut(set, 6);
    const b = await alternate(set, shared, 2);
    assert.deepEqual(assignment([...a, ...b]).split, []);
    await closeAll([...first, ...during, ...fresh, ...a, ...b]);
  } finally {
    await set.close();
  }
});

test("(f) etcd frozen (SIGSTOP): handshakes of new rooms still complete, failing open after the directory timeout", async () => {
  const set = await startReplicas({ name: "rep-f", basePort: 25200, directoryConfig: { timeoutMs: 300 } });
  try {
    set.etcd!.freeze();
    const t0 = Date.now();
    const joined = await together(set, rooms("f", 40), 2);
    const ms = Date.now() - t0;
    console.log(`(f) 80 joins of new rooms with etcd frozen took ${ms} ms (directory timeout 300 ms)`);
    assert.equal(joined.length, 80);
    assert.deepEqual(assignment(joined).split, []);
    // Liveness, not speed: nothing waited anywhere near the 10 s a hung handshake would take.
    assert.ok(ms < 8000, `joins took ${ms} ms`);
    assert.ok((await set.stat("directory.failures_total")) > 0);
    set.etcd!.thaw();
    await closeAll(joined);
  } finally {
    await set.close();
  }
});

test("(g) a bad directory config is rejected naming the field, and the last good one stays in force", async () => {
  const proc = newProcess([{ address: "10.0.0.1:8080", health: "Healthy" }], "game_pods");
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({ directory: {} }), true);
  const bad: [object, RegExp][] = [
    [{ directory: { timeoutMs: 0 } }, /'directory\.timeoutMs': expected an integer from 10 to 5000, got 0/],
    [{ directory: { type: "consul" } }, /'directory\.type': expected "etcd" or "redis" \(Higress\), got "consul"/],
    [{ directory: { clustr: "x" } }, /unknown field 'directory\.clustr'/],
    [{ directory: "etcd" }, /'directory': expected an object/],
    [
      { directory: { refreshSeconds: 600 }, entryTtlSeconds: 60 },
      /'directory\.refreshSeconds': expected at most entryTtlSeconds \(60\), got 600/,
    ],
    [{ directory: { keyPrefix: "bad prefix" } }, /'directory\.keyPrefix'/],
  ];
  for (const [config, message] of bad) {
    vm.logs = [];
    assert.equal(vm.configure(config), false, JSON.stringify(config));
    assert.ok(
      vm.logs.some((l) => message.test(l.message)),
      `${JSON.stringify(config)}: ${JSON.stringify(vm.logs)}`,
    );
  }
  // The last good configuration (with its directory) still serves.
  const pending = vm.begin({ path: "/ws?appId=a1&roomId=g1" });
  assert.equal(pending.out.action, 1, "a new room waits for the directory lookup");
  assert.equal(vm.httpCalls.at(-1)!.cluster, "room_affinity_directory");
  assert.match(vm.httpCalls.at(-1)!.body, /^\{"key":"/);
});

/** A player through one replica directly (gateways[g]), retrying every 50 ms as clients do. */
async function joinThrough(set: ReplicaSet, g: number, room: string): Promise<Joined> {
  const url = `ws://127.0.0.1:${set.gateways[g].port}/ws?appId=a1&roomId=${encodeURIComponent(room)}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await join(url);
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Late players not on the pod their room moved to, described. */
function elsewhere(late: Joined[], movedTo: Map<string, string>): string[] {
  return late
    .filter((j) => j.pod !== movedTo.get(roomIdOf(j)))
    .map((j) => `${roomIdOf(j)} on ${j.pod}, room on ${movedTo.get(roomIdOf(j))}`);
}

/** 60 rooms whose first player came through replica 2 (so replica 2 pins every one), and the pod-2 ones. */
async function pinnedThroughReplica2(set: ReplicaSet, prefix: string): Promise<{ first: Joined[]; onVictim: string[] }> {
  const all = rooms(prefix, 60);
  const first = await mapLimit(all, 10, (room) => joinThrough(set, 1, room));
  const pods = assignment(first).pods;
  const onVictim = all.filter((r) => pods.get(r) === set.fleet.pods[1].id);
  assert.ok(onVictim.length >= 4, `rooms on ${set.fleet.pods[1].id}: ${onVictim.length}`);
  return { first, onVictim };
}

test("(h) a pod restarts on its address while listed: late players of its moved rooms reach the rooms' pods through either replica", async () => {
  const set = await startReplicas({ name: "rep-h", basePort: 25350 });
  try {
    const { first, onVictim } = await pinnedThroughReplica2(set, "h");
    const victim = set.fleet.pods[1];
    await victim.kill("SIGKILL");
    // Half of its rooms come back through replica 1 only (replica 2 never hears of their move), half
    // through replica 2 only (so replica 2 sees joins fail over from the pod).
    const viaOne = onVictim.filter((_, i) => i % 2 === 0);
    const viaTwo = onVictim.filter((_, i) => i % 2 === 1);
    const back = [
      ...(await mapLimit(viaOne, 20, (room) => joinThrough(set, 0, room))),
      ...(await mapLimit(viaTwo, 20, (room) => joinThrough(set, 1, room))),
    ];
    const movedTo = assignment(back).pods;
    for (const r of onVictim) assert.notEqual(movedTo.get(r), victim.id);
    // The pod comes back empty on its address, still listed; replica 2 drops its stale pins.
    await set.fleet.restart(victim.id);
    await waitFor(
      "replica 2 dropped its pins to the pod whose joins failed over",
      async () => (await set.gateways[1].stat("evictions.pod_failed_total")) >= viaOne.length,
      15000,
      100,
    );
    const late = [
      ...(await mapLimit(onVictim, 20, (room) => joinThrough(set, 1, room))),
      ...(await mapLimit(onVictim, 20, (room) => joinThrough(set, 0, room))),
    ];
    const wrong = elsewhere(late, movedTo);
    console.log(
      `(h) ${onVictim.length} rooms moved off ${victim.id}, ${viaOne.length} through replica 1 only; replica 2 dropped ${await set.gateways[1].stat("evictions.pod_failed_total")} pins; late players elsewhere: ${wrong.length}`,
    );
    assert.deepEqual(wrong, []);
    await closeAll([...first, ...back, ...late]);
  } finally {
    await set.close();
  }
});

/**
 * (i), (j): pod-2's rooms, all pinned through replica 2, move off it through replica 1 only (its joins
 * fail over), so replica 2 must learn of the failure some other way (`how`); the pod restarts on its
 * address, and once replica 2 dropped its pins every room gets one late player through replica 2.
 */
async function lateThroughReplica2(test: string, set: ReplicaSet, how: string): Promise<void> {
  const { first, onVictim } = await pinnedThroughReplica2(set, test);
  const victim = set.fleet.pods[1];
  await victim.kill("SIGKILL");
  const back = await mapLimit(onVictim, 20, (room) => joinThrough(set, 0, room));
  const movedTo = assignment(back).pods;
  // Back on its address, empty. A replica keeps its pins to a pod its own check fails (joins skip
  // them), so the pins go once the pod is back, and before the late players come.
  await set.fleet.restart(victim.id);
  await waitFor(
    `replica 2 dropped its pins to the failed pod (${how})`,
    async () => (await set.gateways[1].stat("evictions.pod_failed_total")) >= onVictim.length,
    15000,
    100,
  );
  const late = await mapLimit(onVictim, 20, (room) => joinThrough(set, 1, room));
  const wrong = elsewhere(late, movedTo);
  console.log(
    `(${test}) ${onVictim.length} rooms moved off ${victim.id} through replica 1; replica 2 dropped ${await set.gateways[1].stat("evictions.pod_failed_total")} pins; late players through replica 2 elsewhere: ${wrong.length}`,
  );
  assert.deepEqual(wrong, []);
  await closeAll([...first, ...back, ...late]);
}

test("(i) the same with every moved room's players through replica 1, health checks on: replica 2 drops its pins to the failed pod", async () => {
  const set = await startReplicas({ name: "rep-i", basePort: 25400 });
  try {
    await lateThroughReplica2("i", set, "its own health check failed it");
  } finally {
    await set.close();
  }
});

test("(j) the same without health checks: replica 2 learns the pod's failure from replica 1 through the directory", async () => {
  const set = await startReplicas({ name: "rep-j", basePort: 25450, layout: { healthCheck: false } });
  try {
    await lateThroughReplica2("j", set, "replica 1 told it through the directory");
    assert.ok((await set.gateways[1].stat("directory.pod_failures_learned_total")) >= 1);
  } finally {
    await set.close();
  }
});
