// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Churn scenarios, end to end: real Envoy (--concurrency 2), real WebSocket pods, the cluster changed
// through the trial's control API (HTTP) the way Kubernetes and a control plane would change it.
// Every scenario ends with 0 split rooms. Durations are printed for the record, never asserted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startBed, Gateway } from "../tools/lib/gateway";
import { stats } from "../tools/lib/envoy";
import { CLUSTER } from "../tools/lib/envoy-config";
import { PodFleet } from "../tools/lib/pods";
import { TrialControl, ControlServer, ControlClient } from "../tools/lib/control";
import { closeAll, join, mapLimit, Joined, HttpRejection } from "../tools/lib/clients";
import { joinRooms, assignment, moved, rooms } from "../tools/lib/players";
import { waitFor, sleep } from "../tools/lib/wait";
import { scratchDir } from "../tools/lib/paths";
import { EnvoySystem } from "../tools/lib/system";
import { runScenario, Scenario, SettledResult } from "../tools/lib/churn";

interface ChurnBed {
  gw: Gateway;
  fleet: PodFleet;
  ctl: ControlClient;
  port: number;
  close(): Promise<void>;
}

/** The trial's gateway, pods and control API (over HTTP), on ports base..base+49. */
async function bed(name: string, base: number, pods: number, pluginConfig: object = {}, layout = {}): Promise<ChurnBed> {
  const b = await startBed({ name, listenPort: base, adminPort: base + 1, podBasePort: base + 10, podCount: pods, pluginConfig, layout });
  const server = new ControlServer(new TrialControl([b.gw], b.fleet));
  await server.listen(base + 2);
  await b.gw.waitMembership(pods);
  return {
    gw: b.gw,
    fleet: b.fleet,
    ctl: new ControlClient(base + 2),
    port: base,
    close: async () => {
      await server.close();
      await b.close();
    },
  };
}

function timer(label: string): () => void {
  const t0 = Date.now();
  return () => console.log(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function reconnect(b: ChurnBed, open: Joined[], roomIds: string[], perRoom: number): Promise<Joined[]> {
  await closeAll(open);
  return joinRooms(b.port, roomIds, { perRoom });
}

/** Runs a churn scenario of the one scenario driver (the one `npm run compare` runs) against the plugin. */
async function pluginScenario(scenario: Scenario, base: number, inspect?: (gw: Gateway) => Promise<void>): Promise<SettledResult> {
  const done = timer(scenario);
  const sys = new EnvoySystem("plugin", base, base + 1, scratchDir(`churn-${scenario}`));
  const r = await runScenario(sys, scenario, {
    rooms: 300,
    players: 2,
    podBasePort: base + 10,
    inspect: inspect && (async () => inspect(sys.gw!)),
  });
  done();
  console.log(`${scenario}: ${JSON.stringify(r)}`);
  assert.equal(r.error, undefined);
  assert.equal(r.split, 0, "rooms split");
  assert.equal(r.dropped, 0, "open WebSockets dropped");
  assert.equal(r.right, r.reconnects, "reconnects on the wrong pod");
  return r;
}

test("scale-out 3 -> 6 with 300 rooms connected: 0 rooms moved, new rooms use the new pods", async () => {
  const r = await pluginScenario("scale-out", 21000);
  assert.equal(r.moved, 0, "pinned rooms moved on scale-out");
  console.log(`new rooms per pod after scale-out: ${JSON.stringify(r.newRoomsPerPod)}`);
  for (const p of ["pod-4", "pod-5", "pod-6"])
    assert.ok((r.newRoomsPerPod[p] ?? 0) > 20, `new rooms should use ${p}: ${JSON.stringify(r.newRoomsPerPod)}`);
});

test("scale-in 6 -> 3: rooms of removed pods re-pin each to one pod, the others never move", async () => {
  let repinnedOrEvicted = -1;
  const r = await pluginScenario("scale-in", 21050, async (gw) => {
    repinnedOrEvicted = (await gw.stat("repins_total")) + (await gw.stat("evictions.pod_gone_total"));
  });
  assert.equal(r.moved, 0, "a room moved off a surviving pod");
  console.log(`scale-in: ${r.orphans} rooms re-pinned, ${r.rooms - r.orphans} stayed`);
  assert.ok(r.orphans > 0);
  // Each orphaned room was either evicted by the sweeper first (then pinned anew) or re-pinned on reconnect.
  assert.equal(repinnedOrEvicted, r.orphans);
});

test("rolling update: old rooms stay on draining old pods until they are gone; new rooms only on new pods", async () => {
  const r = await pluginScenario("rolling-update", 21100);
  assert.equal(r.moved, 0, "old rooms left their draining pods");
  assert.equal(r.newOnDraining, 0, `new rooms on old pods: ${JSON.stringify(r.newRoomsPerPod)}`);
  assert.equal(r.oldRoomsOnOldPods, 0, "old rooms came back to old pods after they stopped");
});

test("a pod is killed: its rooms re-pin on reconnect, one pod per room; other rooms stay", async () => {
  const done = timer("pod killed");
  const b = await bed("killed", 21150, 3);
  try {
    const all = rooms("k", 300);
    let open = await joinRooms(b.port, all, { perRoom: 2 });
    const before = assignment(open);
    await b.ctl.kill("pod-2");
    // Envoy's health check notices the crash; the next membership snapshot marks the pod unhealthy.
    await b.ctl.settle();
    open = await reconnect(
      b,
      open.filter((j) => j.pod !== "pod-2"),
      all,
      3,
    );
    const after = assignment(open);
    assert.deepEqual(after.split, []);
    for (const [r, pod] of after.pods) {
      assert.notEqual(pod, "pod-2");
      if (before.pods.get(r) !== "pod-2") assert.equal(pod, before.pods.get(r), `room ${r} moved although its pod lives`);
    }
    const orphans = [...before.pods.values()].filter((p) => p === "pod-2").length;
    assert.equal(await b.gw.stat("repins_total"), orphans);
    await closeAll(open);
  } finally {
    await b.close();
  }
  done();
});

test("a hung pod (SIGSTOP, still listed) failed by the health check: its rooms' players go straight to each room's next pod, none waits on it", async () => {
  const b = await bed("hung-skip", 21700, 3);
  const hung = b.fleet.pods[1];
  try {
    const all = rooms("h", 120);
    const open = await joinRooms(b.port, all, { perRoom: 1 });
    const before = assignment(open);
    const orphaned = all.filter((r) => before.pods.get(r) === hung.id);
    assert.ok(orphaned.length > 0, "no room on the pod to hang");
    await sleep(1100); // the rooms were last joined in an earlier second than the pod's failure
    hung.proc.kill("SIGSTOP");
    b.fleet.setState(hung.id, "killed"); // listed, failing its checks
    await b.gw.settle(b.fleet.expectedView());
    const retriesBefore = await retries(b.gw);
    // Every orphaned room's players come back at once, two each, in lockstep.
    const back = await joinRooms(b.port, orphaned, { perRoom: 2 });
    const after = assignment(back);
    assert.deepEqual(after.split, []);
    for (const r of orphaned) assert.notEqual(after.pods.get(r), hung.id, `room ${r} joined the hung pod`);
    assert.equal((await retries(b.gw)) - retriesBefore, 0, "joins were sent to the hung pod and retried");
    assert.ok((await b.gw.stat("pins_withheld.pod_down_total")) >= orphaned.length);
    assert.equal(await b.gw.stat("repins_total"), orphaned.length);
    await closeAll(back);
    for (const j of open) j.ws.terminate();
  } finally {
    hung.proc.kill("SIGCONT");
    await b.close();
  }
});

test("a pod that stalls for 0.7 s at a time (a garbage-collection pause) keeps its rooms while their players keep joining", async () => {
  const b = await bed("stall", 21750, 3);
  const stalling = b.fleet.pods[1];
  const joined: Joined[] = [];
  try {
    const all = rooms("s", 90);
    joined.push(...(await joinRooms(b.port, all, { perRoom: 1 })));
    const home = assignment(joined).pods;
    const its = all.filter((r) => home.get(r) === stalling.id);
    assert.ok(its.length > 0, "no room on the pod to stall");
    let elsewhere = 0;
    let joins = 0;
    for (let cycle = 0; cycle < 4; cycle++) {
      await sleep(1500);
      stalling.proc.kill("SIGSTOP");
      setTimeout(() => stalling.proc.kill("SIGCONT"), 700);
      // Its rooms' players keep joining through the stall and the health check's verdict on it.
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const room = its[i % its.length];
        pending.push(
          joinRooms(b.port, [room], { perRoom: 1 }).then((j) => {
            joins++;
            joined.push(...j);
            if (j[0].pod !== stalling.id) elsewhere++;
          }),
        );
        await sleep(30);
      }
      await Promise.all(pending);
    }
    console.log(`stall: ${its.length} rooms on the stalling pod, ${joins} joins, ${elsewhere} elsewhere`);
    assert.equal(elsewhere, 0, "joins of a stalling pod's rooms sent elsewhere: its rooms split");
  } finally {
    stalling.proc.kill("SIGCONT");
    for (const j of joined) j.ws.terminate();
    await b.close();
  }
});

/** Joins the game cluster retried on another pod (the first attempt failed, reset or timed out). */
async function retries(gw: Gateway): Promise<number> {
  let n = 0;
  for (const [k, v] of await stats(gw.adminPort, "upstream_rq_retry$")) if (k.startsWith(`cluster.${CLUSTER}.`)) n += v;
  return n;
}

test("control API: a killed pod restarts on its address, empty, and serves; a drained pod undrained takes new rooms", async () => {
  const b = await bed("restart-undrain", 21650, 2);
  try {
    const victim = (await b.ctl.pods())[1];
    await b.ctl.kill(victim.id);
    await b.ctl.settle();
    await b.ctl.restart(victim.id);
    const restarted = (await b.ctl.pods()).find((p) => p.id === victim.id)!;
    assert.deepEqual([restarted.state, restarted.address, restarted.rooms], ["serving", victim.address, 0]);
    await b.ctl.settle();
    const afterRestart = await joinRooms(b.port, rooms("rs", 60), { perRoom: 1 });
    assert.ok(
      afterRestart.some((j) => j.pod === victim.id),
      "no new room reached the restarted pod",
    );
    await closeAll(afterRestart);

    await b.ctl.drain(victim.id);
    await b.ctl.settle();
    const whileDraining = await joinRooms(b.port, rooms("dr", 60), { perRoom: 1 });
    assert.equal(whileDraining.filter((j) => j.pod === victim.id).length, 0, "a draining pod got a new room");
    await b.ctl.undrain(victim.id);
    await b.ctl.settle();
    const afterUndrain = await joinRooms(b.port, rooms("ud", 60), { perRoom: 1 });
    assert.ok(
      afterUndrain.some((j) => j.pod === victim.id),
      "no new room reached the undrained pod",
    );
    await assert.rejects(b.ctl.undrain(victim.id), /409 pod .* is serving, not draining/);
    await closeAll([...whileDraining, ...afterUndrain]);
  } finally {
    await b.close();
  }
});

test("reconnect storm: 2,000 players reconnect at once and all land on their room's pod", async () => {
  const done = timer("reconnect storm");
  const b = await bed("storm", 21200, 3);
  try {
    const all = rooms("st", 400);
    const first = await joinRooms(b.port, all, { perRoom: 5 });
    const before = assignment(first);
    assert.deepEqual(before.split, []);
    await closeAll(first);
    const t0 = Date.now();
    const storm = await joinRooms(b.port, all, { perRoom: 5, limit: 2000, localAddress: (i) => `127.0.${(i >> 8) + 1}.${i & 255 || 1}` });
    console.log(`reconnect storm: ${storm.length} players joined in ${Date.now() - t0} ms`);
    const after = assignment(storm);
    assert.equal(storm.length, 2000);
    assert.deepEqual(after.split, []);
    assert.deepEqual(moved(before.pods, after.pods), []);
    await closeAll(storm);
  } finally {
    await b.close();
  }
  done();
});

test("hot reload: 5 plugin-config (ECDS) and 5 route (RDS) changes with 500 sockets open: 0 closed, pins kept", async () => {
  const done = timer("hot reload");
  const b = await bed("hot-reload", 21250, 3);
  try {
    const all = rooms("h", 100);
    const open = await joinRooms(b.port, all, { perRoom: 5 });
    const before = assignment(open);
    let closed = 0;
    for (const j of open) j.ws.on("close", () => closed++);
    for (let i = 1; i <= 5; i++) {
      const reloads = await b.gw.ecdsStat("config_reload");
      await b.ctl.pluginConfig({ entryTtlSeconds: 3600 * i, tickPeriodMs: 1000 });
      await waitFor(`plugin config ${i} applied`, async () => (await b.gw.ecdsStat("config_reload")) > reloads, 10000);
      const { version } = await b.ctl.reloadRoutes();
      await waitFor(
        `routes v${version} applied`,
        async () => {
          const r = await fetch(`http://127.0.0.1:${b.port}/plain`);
          return r.headers.get("x-route-version") === String(version);
        },
        10000,
      );
    }
    await sleep(500);
    assert.equal(closed, 0, "WebSockets closed by reloads");
    // Every socket still carries traffic.
    await Promise.all(
      open.map(
        (j, i) =>
          new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error("no echo")), 5000);
            j.ws.once("message", (d) => {
              clearTimeout(t);
              assert.equal(String(d), `ping${i}`);
              resolve();
            });
            j.ws.send(`ping${i}`);
          }),
      ),
    );
    const again = await joinRooms(b.port, all, { perRoom: 2 });
    const after = assignment(again);
    assert.deepEqual(after.split, []);
    assert.deepEqual(moved(before.pods, after.pods), [], "the table did not survive the reloads");
    await closeAll([...open, ...again]);
  } finally {
    await b.close();
  }
  done();
});

test("a plugin config change inside the listener (LDS) drains WebSockets; that is why ECDS is used", async () => {
  const b = await bed("lds-drain", 21300, 3, {}, { lds: true, ecds: false });
  try {
    const open = await joinRooms(b.port, rooms("l", 10), { perRoom: 2 });
    let closed = 0;
    for (const j of open) j.ws.on("close", () => closed++);
    b.gw.pushListener({ entryTtlSeconds: 7200 });
    // --drain-time-s is 2 in tests: the old listener's connections are closed after it.
    await waitFor("sockets closed by the listener drain", async () => closed === open.length, 15000);
    console.log(`LDS filter-chain change: ${closed}/${open.length} WebSockets closed`);
  } finally {
    await b.close();
  }
});

test("eviction: a removed pod's entries leave the table within two sweeps; its rooms come back together", async () => {
  const done = timer("eviction");
  // 4096 rooms in 512 buckets: the sweeper visits 256 buckets per tick.
  const b = await bed("eviction", 21350, 3, { capacity: 4096, bucketSize: 8 });
  try {
    const all = rooms("e", 300);
    const open = await joinRooms(b.port, all, { perRoom: 2 });
    const before = assignment(open);
    const onPod3 = [...before.pods].filter(([, p]) => p === "pod-3").map(([r]) => r);
    await closeAll(open);
    await waitFor("a full sweep cycle counting 300 entries", async () => (await b.gw.stat("table.entries")) === 300, 10000);
    const t0 = Date.now();
    await b.ctl.remove("pod-3");
    await waitFor("pod-3's entries evicted", async () => (await b.gw.stat("evictions.pod_gone_total")) === onPod3.length, 15000, 50);
    const ticks = (Date.now() - t0) / 1000;
    console.log(`eviction: ${onPod3.length} entries of pod-3 evicted ${ticks.toFixed(2)} ticks after its removal from the endpoints`);
    await waitFor("table size after eviction", async () => (await b.gw.stat("table.entries")) === 300 - onPod3.length, 10000);
    // Its players come back concurrently: each room lands on one pod.
    const back = await joinRooms(b.port, onPod3, { perRoom: 4 });
    const after = assignment(back);
    assert.deepEqual(after.split, []);
    for (const pod of after.pods.values()) assert.notEqual(pod, "pod-3");
    assert.equal(await b.gw.stat("repins_total"), 0, "evicted rooms are new rooms, not re-pins");
    await closeAll(back);
  } finally {
    await b.close();
  }
  done();
});

test("capacity: with capacity 64 and 400 distinct rooms, the table never holds more than 64", async () => {
  const done = timer("capacity");
  const b = await bed("capacity", 21400, 3, { capacity: 64, bucketSize: 8, tickPeriodMs: 200 });
  try {
    let maxSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxSeen = Math.max(maxSeen, await b.gw.stat("table.entries"));
        await sleep(50);
      }
    })();
    for (let wave = 0; wave < 4; wave++) {
      const open = await joinRooms(b.port, rooms(`c${wave}-`, 100), { perRoom: 2 });
      assert.deepEqual(assignment(open).split, []);
      await closeAll(open);
    }
    await waitFor("a sweep cycle after the last wave", async () => (await b.gw.stat("table.entries")) > 0, 5000);
    await sleep(600);
    sampling = false;
    await sampler;
    const evicted = await b.gw.stat("evictions.capacity_total");
    const pins = await b.gw.stat("learned_total");
    console.log(`capacity: max table entries seen ${maxSeen}, ${pins} pins, ${evicted} capacity evictions`);
    assert.ok(maxSeen <= 64, `table held ${maxSeen} entries`);
    assert.ok(maxSeen >= 32, `the table should fill up (saw ${maxSeen})`);
    // Every pin is still in the table or was evicted for capacity (a room evicted between its two
    // players' joins is pinned again, so pins can exceed the 400 rooms).
    assert.ok(pins >= 400);
    assert.equal(evicted, pins - (await b.gw.stat("table.entries")));
  } finally {
    await b.close();
  }
  done();
});

test("control API: a 10,000-level nested plugin config is refused with a 400 that says why, and the gateway keeps working", async () => {
  const b = await bed("control-nesting", 21450, 3);
  try {
    const deep = "[".repeat(10000) + "]".repeat(10000);
    const r = await fetch(`http://127.0.0.1:21452/plugin-config`, { method: "PUT", body: `{"keyParams":${deep}}` });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /nests deeper than 64 levels/);
    const bad = await fetch(`http://127.0.0.1:21452/plugin-config`, { method: "PUT", body: "{nope" });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /body must be JSON/);
    const players = await joinRooms(b.port, ["n1"], { perRoom: 3 });
    assert.deepEqual(assignment(players).split, []);
    await closeAll(players);
  } finally {
    await b.close();
  }
});

test("a stateful_session reading another header than pinHeader is reported at run time: metric and one error line", async () => {
  // The deployment mistake: the plugin writes x-room-affinity-pin, stateful_session reads x-session-pin.
  const b = await bed("pin-mismatch", 21500, 3, {}, { sessionHeader: "x-session-pin" });
  try {
    const all = rooms("mm", 60);
    await closeAll(await joinRooms(b.port, all, { perRoom: 1 }));
    // A scale-out makes Envoy's hash send some rooms elsewhere; their pins are never read, so they move.
    await b.ctl.scale(6);
    await b.ctl.settle();
    await closeAll(await joinRooms(b.port, all, { perRoom: 1 }));
    const unread = await b.gw.stat("pin_header_unread_total");
    console.log(`pin header mismatch: ${unread} unhonoured pins never read by stateful_session`);
    assert.ok(unread > 0, "the mismatch went unnoticed");
    const lines = b.gw.envoy
      .log()
      .split("\n")
      .filter((l) => /the pin mechanism never read it/.test(l));
    // Once per worker thread (--concurrency 2), not once per request.
    assert.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} error lines`);
    assert.match(lines[0], /\[error\]/);
    assert.match(lines[0], /pinHeader \('x-room-affinity-pin'\)/);
  } finally {
    await b.close();
  }
});

test("changing capacity, bucketSize and sharedDataPrefix with 300 rooms connected keeps every pin through a scale-out", async () => {
  const done = timer("geometry change");
  const b = await bed("geometry", 21550, 3, { capacity: 4096, bucketSize: 8 });
  try {
    const all = rooms("g", 300);
    const open = await joinRooms(b.port, all, { perRoom: 2 });
    const before = assignment(open);
    assert.deepEqual(before.split, []);
    // A new table geometry (and name): the new table starts empty, the old one is read through.
    await b.ctl.pluginConfig({ capacity: 8192, bucketSize: 4, sharedDataPrefix: "room-affinity-v2" });
    await b.ctl.scale(6);
    await b.ctl.settle();
    const again = await joinRooms(b.port, all, { perRoom: 2 });
    const after = assignment(again);
    assert.deepEqual(after.split, []);
    assert.deepEqual(moved(before.pods, after.pods), [], "rooms lost their pins with the new geometry");
    // Every room is carried once; a carried pin lost to another worker's first use of its bucket (no
    // create-if-absent in shared data) is carried again, so a second player can count it a second time.
    const adopted = await b.gw.stat("adopted_total");
    assert.ok(adopted >= 300 && adopted <= 600, `${adopted} carry-overs for 300 rooms of 2 players`);
    await closeAll([...open, ...again]);
  } finally {
    await b.close();
  }
  done();
});

test("a gateway that does not hash on the room: players sent apart are refused (503 room_affinity_room_elsewhere), retry onto the room's pod, and it is reported", async () => {
  // The deployment mistake: round robin instead of MAGLEV on the room hash.
  const b = await bed("no-hash", 21600, 3, {}, { lbPolicy: "ROUND_ROBIN" });
  try {
    const all = rooms("nh", 60);
    const players = all.flatMap((r) => [r, r, r]);
    const refused: string[] = [];
    const joined = await mapLimit(players, 180, async (room) => {
      try {
        return await join(`ws://127.0.0.1:${b.port}/ws?appId=a1&roomId=${room}`);
      } catch (e) {
        assert.ok(e instanceof HttpRejection && e.status === 503, String(e));
        refused.push(room);
        return null;
      }
    });
    // The refused players retry, as clients do: each reaches its room's pod.
    const retried = await mapLimit(refused, 50, (room) => join(`ws://127.0.0.1:${b.port}/ws?appId=a1&roomId=${room}`));
    const everyone = [...joined.filter((j): j is Joined => j !== null), ...retried];
    console.log(`no hash: ${refused.length} of ${players.length} players refused and retried`);
    assert.ok(refused.length > 0, "round robin should have sent some first players apart");
    assert.deepEqual(assignment(everyone).split, []);
    assert.equal(await b.gw.stat("rejects.room_elsewhere_total"), refused.length);
    const alarms = b.gw.envoy
      .log()
      .split("\n")
      .filter((l) => /\[error\].*does not hash on the header named by hashHeader \('x-room-affinity-hash'\)/.test(l));
    assert.ok(alarms.length >= 1 && alarms.length <= 2, `${alarms.length} error lines (once per worker thread)`);
    // Every refusal carries its response-details code (the access log reaches the file within 200 ms).
    await waitFor(
      "the refusals in the access log",
      async () => b.gw.accessLog().filter((l) => / 503 room_affinity_room_elsewhere /.test(l)).length === refused.length,
      5000,
    );
    await closeAll(everyone);
  } finally {
    await b.close();
  }
});
