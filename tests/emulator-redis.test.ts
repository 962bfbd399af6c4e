// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room directory on the Higress build (build/higress.wasm), through Higress's Redis host functions
// as the host emulator implements them over a real TCP connection to a real redis-server. Each
// emulated process stands for one Higress replica (its own shared data); both share one Redis.
// No Higress data plane runs here: what is verified is the plugin against real Redis, through the
// documented host behaviour (tools/lib/emulator-redis.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmVm, newProcess, UpstreamHost } from "../tools/lib/host-emulator";
import { WASM_HIGRESS, WASM_ENVOY, scratchDir } from "../tools/lib/paths";
import { Redis } from "../tools/lib/redis";
import { higressReplica, joinThrough, hostsOf } from "../tools/lib/higress-replicas";

const SERVICE = "redis.static";
const path = (room: string) => `/ws?appId=a1&roomId=${room}`;

/** One Higress replica sharing `redis` as its directory, with `directory` settings over the test's (and `plugin` settings). */
function replica(redis: Redis, hosts: UpstreamHost[], directory: object = {}, plugin: object = {}): Promise<WasmVm> {
  return higressReplica(
    { ...plugin, directory: { type: "redis", serviceName: SERVICE, servicePort: redis.port, timeout: 200, ...directory } },
    hosts,
    redis.port,
  );
}

const join = (vm: WasmVm, room: string): Promise<string> => joinThrough(vm, path(room));

async function withRedis(name: string, port: number, fn: (redis: Redis) => Promise<void>, password = ""): Promise<void> {
  const redis = new Redis(scratchDir(name), port, password);
  await redis.start();
  try {
    await fn(redis);
  } finally {
    await redis.stop();
  }
}

const metric = (vm: WasmVm, name: string) => vm.proc.metrics.get(`room_affinity.${name}`);

/** `n` rooms, each joined through r1 and then through r2: each room's pod. */
async function roomsOnBoth(r1: WasmVm, r2: WasmVm, prefix: string, n: number): Promise<Map<string, string>> {
  const home = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const room = `${prefix}${i}`;
    home.set(room, await join(r1, room));
    await join(r2, room);
  }
  return home;
}

/**
 * Each room's players come back at once, two through each replica, all decided before any upgrade
 * completes (upgrades that record a room wait for their claim or move). Returns the pods each room's
 * admitted players reached, the players refused, and each admitted upgrade's logged decision.
 */
async function comeBackAtOnce(
  rooms: string[],
  r1: WasmVm,
  r2: WasmVm,
): Promise<{ pods: Map<string, Set<string>>; refused: number; decisions: string[] }> {
  const pending = rooms.flatMap((room) => [r1, r2, r1, r2].map((vm) => ({ vm, room, p: vm.begin({ path: path(room) }) })));
  for (const x of pending) if (x.p.out.action === 1) await x.vm.redisIdle();
  for (const { vm, p } of pending) vm.finish(p);
  const pods = new Map<string, Set<string>>();
  const decisions: string[] = [];
  let refused = 0;
  for (const { vm, room, p } of pending) {
    const out = await vm.released(p);
    if (out.localReply || !out.upstream) {
      refused++;
      continue;
    }
    decisions.push(out.filterState.get("wasm.room_affinity_decision") ?? "");
    pods.set(room, (pods.get(room) ?? new Set()).add(out.upstream));
  }
  await r1.redisIdle();
  await r2.redisIdle();
  return { pods, refused, decisions };
}

test("Higress + Redis: a room's players through both replicas, with a scale-out between: 0 split (and split without Redis)", async () => {
  await withRedis("redis-a", 26380, async (redis) => {
    const hosts = hostsOf(3);
    const [r1, r2] = [await replica(redis, hosts), await replica(redis, hosts)];
    const rooms = Array.from({ length: 100 }, (_, i) => `a${i}`);
    const home = new Map<string, string>();
    for (const room of rooms) home.set(room, await join(r1, room));
    hosts.push(...hostsOf(6).slice(3));
    let split = 0;
    for (const room of rooms) if ((await join(r2, room)) !== home.get(room) || (await join(r1, room)) !== home.get(room)) split++;
    console.log(`Redis directory: ${metric(r2, "directory.found_total")} rooms found by the second replica; split ${split}`);
    assert.equal(split, 0);
    assert.equal(metric(r2, "directory.found_total"), 100);
    // Control: the same without a directory splits rooms the hash remaps.
    const plain = [newProcess(hostsOf(3)), newProcess(hostsOf(3))];
    const [p1, p2] = [await WasmVm.load(WASM_HIGRESS, plain[0], true), await WasmVm.load(WASM_HIGRESS, plain[1], true)];
    p1.configure({});
    p2.configure({});
    const placed = rooms.map((room) => p1.request({ path: path(room) }).upstream);
    plain[1].hosts.push(...hostsOf(6).slice(3));
    const without = rooms.filter((room, i) => p2.request({ path: path(room) }).upstream !== placed[i]).length;
    console.log(`without a directory: ${without} of 100 rooms split`);
    assert.ok(without > 20);
  });
});

test("Higress + Redis: a replica restarts (empty shared data) after a scale-out: 0 rooms moved", async () => {
  await withRedis("redis-b", 26381, async (redis) => {
    const hosts = hostsOf(3);
    const r1 = await replica(redis, hosts);
    const rooms = Array.from({ length: 100 }, (_, i) => `b${i}`);
    const home = new Map<string, string>();
    for (const room of rooms) home.set(room, await join(r1, room));
    hosts.push(...hostsOf(6).slice(3));
    const restarted = await replica(redis, hosts);
    const moved = [];
    for (const room of rooms) if ((await join(restarted, room)) !== home.get(room)) moved.push(room);
    assert.deepEqual(moved, []);
  });
});

test("Higress + Redis: a pod gone, both replicas re-pin its rooms at once: one pod per room, the same in Redis", async () => {
  await withRedis("redis-c", 26382, async (redis) => {
    const hosts = hostsOf(3);
    const [r1, r2] = [await replica(redis, hosts), await replica(redis, hosts)];
    const home = await roomsOnBoth(r1, r2, "c", 90);
    const gone = hosts[1].address;
    hosts.splice(1, 1);
    const orphans = [...home.keys()].filter((r) => home.get(r) === gone);
    const { pods } = await comeBackAtOnce(orphans, r1, r2);
    // The refused players' retries.
    for (const room of orphans) {
      for (const vm of [r1, r2]) pods.get(room)!.add(await join(vm, room));
      assert.equal(pods.get(room)!.size, 1, `${room} split: ${[...pods.get(room)!]}`);
      assert.notEqual([...pods.get(room)!][0], gone);
    }
    const keys = (await redis.command(["KEYS", "room-affinity/*"])).split("\r\n").filter((l) => l.startsWith("room-affinity/")).length;
    assert.equal(keys, home.size);
  });
});

test("Higress + Redis: a pod gone from both replicas and its pins swept: its players rejoin at once through both, none refused, each room moved once", async () => {
  await withRedis("redis-h", 26387, async (redis) => {
    const hosts = hostsOf(3);
    const settings = { logDecision: true, capacity: 1024 };
    const [r1, r2] = [await replica(redis, hosts, {}, settings), await replica(redis, hosts, {}, settings)];
    const home = await roomsOnBoth(r1, r2, "h", 90);
    const gone = hosts[1].address;
    hosts.splice(1, 1);
    for (const vm of [r1, r2]) {
      vm.proc.nowMs += 1001;
      await join(vm, "refresh"); // a request refreshes the replica's view and publishes it
      for (let t = 0; t < 3; t++) {
        vm.tick(); // the sweeper evicts the pod's rooms' pins
        vm.proc.nowMs += 1000;
      }
    }
    const orphans = [...home.keys()].filter((r) => home.get(r) === gone);
    assert.ok(orphans.length > 10);
    for (const vm of [r1, r2]) assert.equal(metric(vm, "evictions.pod_gone_total"), orphans.length, "the pins were swept");
    // The tables no longer know these rooms; the directory still names the pod that left.
    const { pods, refused, decisions } = await comeBackAtOnce(orphans, r1, r2);
    assert.equal(refused, 0, "players refused");
    assert.deepEqual(new Set(decisions), new Set(["repinned"]), "each 101 moved its room off the pod that left");
    for (const room of orphans) {
      assert.equal(pods.get(room)!.size, 1, `${room} split: ${[...pods.get(room)!]}`);
      assert.notEqual([...pods.get(room)!][0], gone);
    }
    assert.ok(
      metric(r1, "directory.rejected_values_total") + metric(r2, "directory.rejected_values_total") > 0,
      "the directory named the pod",
    );
  });
});

test("Higress + Redis: a pod dies; one replica ejected it, the other's gateway retries its joins onto the hash's retry pick: each room on one pod, nobody plays elsewhere", async () => {
  await withRedis("redis-g", 26386, async (redis) => {
    // Each replica its own view of the pods (its own health checks).
    const [view1, view2] = [hostsOf(4), hostsOf(4)];
    const [r1, r2] = [await replica(redis, view1, {}, { logDecision: true }), await replica(redis, view2, {}, { logDecision: true })];
    const rooms = Array.from({ length: 120 }, (_, i) => `g${i}`);
    const home = new Map<string, string>();
    for (const room of rooms) {
      home.set(room, await join(r1, room));
      await join(r2, room);
    }
    const dead = view1[1].address;
    view2[1].health = "Unhealthy"; // r2 noticed the crash; r1 still routes to the pod, and its gateway retries
    const orphans = rooms.filter((r) => home.get(r) === dead);
    // Every orphan room's players come back at once through both replicas, all decided before any 101;
    // a refused player comes back in the next round.
    let pending = orphans.flatMap((room) => [r1, r2, r1, r2].map((vm) => ({ vm, room })));
    const on = new Map<string, Set<string>>();
    let refused = 0;
    let retried = 0;
    for (let round = 0; pending.length > 0 && round < 5; round++) {
      const begun = pending.map((x) => ({ ...x, p: x.vm.begin({ path: path(x.room) }) }));
      for (const x of begun) if (x.p.out.action === 1) await x.vm.redisIdle();
      for (const x of begun) {
        retried += x.vm.retryJoin(x.p, new Set([dead])).length;
        x.vm.finish(x.p);
      }
      pending = [];
      for (const x of begun) {
        const out = await x.vm.released(x.p);
        if (out.localReply || !out.upstream) {
          refused++;
          // The access log says why (the upgrade was held for the directory, then refused).
          assert.equal(out.filterState.get("wasm.room_affinity_decision"), "elsewhere");
          pending.push({ vm: x.vm, room: x.room });
        } else on.set(x.room, (on.get(x.room) ?? new Set()).add(out.upstream));
      }
    }
    await r1.redisIdle();
    await r2.redisIdle();
    console.log(
      `${orphans.length} rooms of the dead pod: ${retried} joins retried by r1's gateway, ${refused} refused once (room elsewhere), ` +
        `directory conflicts ${metric(r1, "directory.conflicts_total") + metric(r2, "directory.conflicts_total")}`,
    );
    assert.equal(pending.length, 0, "players still out after 5 rounds");
    assert.ok(retried > 0, "r1 never routed to the dead pod: the scenario did not happen");
    for (const room of orphans) {
      assert.equal(on.get(room)!.size, 1, `${room} played on ${[...on.get(room)!]}`);
      assert.notEqual([...on.get(room)!][0], dead);
    }
  });
});

test("Higress + Redis: a pod restarts on its address after its rooms moved through one replica: the other learns the failure through Redis and sends late players to the rooms' pods", async () => {
  await withRedis("redis-j", 26388, async (redis) => {
    const [r1, r2] = [await replica(redis, hostsOf(4)), await replica(redis, hostsOf(4))];
    // Every room placed through r2 first, so r2 pins every one.
    const rooms = Array.from({ length: 60 }, (_, i) => `j${i}`);
    const home = new Map<string, string>();
    for (const room of rooms) home.set(room, await join(r2, room));
    const dead = hostsOf(4)[1].address;
    const orphans = rooms.filter((r) => home.get(r) === dead);
    assert.ok(orphans.length >= 4, `rooms on ${dead}: ${orphans.length}`);
    // Their players come back through r1 only: its gateway retries each pinned join off the dead pod.
    const movedTo = new Map<string, string>();
    for (const room of orphans) {
      const p = r1.begin({ path: path(room) });
      if (p.out.action === 1) await r1.redisIdle();
      assert.equal(r1.retryJoin(p, new Set([dead])).length > 0, true, `${room}: r1's join was not retried`);
      r1.finish(p);
      const out = await r1.released(p);
      assert.ok(out.upstream && !out.localReply, `${room}: ${JSON.stringify(out.localReply)}`);
      movedTo.set(room, out.upstream!);
    }
    await r1.redisIdle();
    // r1 shares the failure on its ticks; r2 reads it on its own and sweeps (the pod is back on its address).
    for (let t = 0; t < 4; t++) {
      for (const vm of [r1, r2]) {
        vm.proc.nowMs += 1000;
        vm.tick();
        await vm.redisIdle();
      }
    }
    assert.equal(metric(r1, "directory.pod_failures_learned_total"), 0);
    assert.ok(metric(r2, "directory.pod_failures_learned_total") >= 1);
    assert.equal(metric(r2, "evictions.pod_failed_total"), orphans.length);
    const wrong: string[] = [];
    for (const room of orphans) {
      const pod = await join(r2, room);
      if (pod !== movedTo.get(room)) wrong.push(`${room} on ${pod}, room on ${movedTo.get(room)}`);
    }
    console.log(
      `${orphans.length} rooms moved off ${dead} through r1; r2 dropped ${metric(r2, "evictions.pod_failed_total")} pins; late players through r2 elsewhere: ${wrong.length}`,
    );
    assert.deepEqual(wrong, []);
  });
});

test("Higress + Redis: Redis stopped: joins fail open (counted, logged once), known rooms stay; back: rooms shared again", async () => {
  await withRedis("redis-e", 26383, async (redis) => {
    const hosts = hostsOf(3);
    const [r1, r2] = [await replica(redis, hosts), await replica(redis, hosts)];
    const known = Array.from({ length: 40 }, (_, i) => `e${i}`);
    const home = new Map<string, string>();
    for (const room of known) home.set(room, await join(r1, room));
    await redis.stop();
    for (const room of known) assert.equal(await join(r1, room), home.get(room));
    for (let i = 0; i < 20; i++) await join(r2, `e-new${i}`);
    assert.ok(metric(r2, "directory.failures_total") >= 20, "failures must be counted");
    assert.equal(r2.logs.filter((l) => /room directory call failed/.test(l.message)).length, 1, "logged once per distinct failure");
    await redis.start();
    const back = Array.from({ length: 30 }, (_, i) => `e-back${i}`);
    const placed = new Map<string, string>();
    for (const room of back) placed.set(room, await join(r1, room));
    hosts.push(...hostsOf(6).slice(3));
    for (const room of back) assert.equal(await join(r2, room), placed.get(room), `${room} not shared after Redis came back`);
  });
});

test("Higress + Redis: Redis frozen (SIGSTOP): joins of new rooms complete after the timeout, failing open", async () => {
  await withRedis("redis-f", 26384, async (redis) => {
    const r1 = await replica(redis, hostsOf(3));
    await join(r1, "warm"); // the connection is open before the freeze
    redis.freeze();
    // How long each new room's upgrade stays paused waiting for the frozen directory (lookup, then claim).
    const paused: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const p = r1.begin({ path: path(`f${i}`) });
      while (p.stream.paused) await new Promise((r) => setTimeout(r, 1));
      // Its 101 waits for the room's claim, which times out too.
      const out = await r1.complete(p);
      paused.push(Date.now() - t0);
      assert.ok(out.upstream && !out.localReply);
    }
    const ms = Math.max(...paused);
    redis.thaw();
    await r1.redisIdle();
    console.log(`joins of new rooms with Redis frozen: held ${Math.min(...paused)}-${ms} ms each (timeout 200 ms, twice)`);
    assert.ok(metric(r1, "directory.failures_total") >= 10);
    // Liveness, not speed: each join waited for its timeout, nowhere near a hang.
    assert.ok(ms < 2000, `a join stayed paused ${ms} ms`);
  });
});

test("Higress + Redis: AUTH with a password works; a wrong password fails open with the Redis error logged once", async () => {
  await withRedis(
    "redis-auth",
    26385,
    async (redis) => {
      const hosts = hostsOf(3);
      const [r1, r2] = [await replica(redis, hosts, { password: "s3cret" }), await replica(redis, hosts, { password: "s3cret" })];
      const pod = await join(r1, "auth1");
      hosts.push(...hostsOf(6).slice(3));
      assert.equal(await join(r2, "auth1"), pod);
      assert.equal(metric(r2, "directory.found_total"), 1);
      const wrong = await replica(redis, hosts, { password: "nope" });
      await join(wrong, "auth2");
      await join(wrong, "auth3");
      assert.ok(metric(wrong, "directory.failures_total") >= 2);
      const logged = wrong.logs.filter((l) => /room directory call failed.*(WRONGPASS|NOAUTH)/.test(l.message));
      assert.equal(logged.length, 1, JSON.stringify(wrong.logs.map((l) => l.message)));
    },
    "s3cret",
  );
});

test("Higress + Redis: Redis answering an error (WRONGTYPE) fails the lookup open, counted; the join succeeds", async () => {
  await withRedis("redis-err", 26386, async (redis) => {
    const r1 = await replica(redis, hostsOf(3));
    await join(r1, "probe");
    const key = (await redis.command(["KEYS", "room-affinity/*"])).split("\r\n").find((l) => l.startsWith("room-affinity/"))!;
    // Another room's key spelled the same way, but holding a list: every command on it answers WRONGTYPE.
    const fresh = await replica(redis, hostsOf(3));
    await redis.command(["DEL", key]);
    await redis.command(["LPUSH", key, "x"]);
    const before = metric(fresh, "directory.failures_total");
    await join(fresh, "probe");
    assert.ok(metric(fresh, "directory.failures_total") > before);
    assert.ok(
      fresh.logs.some((l) => /Redis error: WRONGTYPE/.test(l.message)),
      JSON.stringify(fresh.logs.map((l) => l.message)),
    );
  });
});

test("bad Redis directory configs are refused naming the field; the stock build refuses Redis", async () => {
  const vm = await WasmVm.load(WASM_HIGRESS, newProcess(hostsOf(1)), true);
  const bad: [object, RegExp][] = [
    [{ directory: { type: "redis" } }, /'directory\.serviceName': expected a Redis service/],
    [
      { directory: { type: "redis", serviceName: "r.static", timeout: 0 } },
      /'directory\.timeout': expected an integer from 10 to 5000, got 0/,
    ],
    [
      { directory: { type: "redis", serviceName: "r.static", database: 99 } },
      /'directory\.database': expected an integer from 0 to 15, got 99/,
    ],
    [{ directory: { type: "redis", serviceName: "r.static", cluster: "x" } }, /unknown field 'directory\.cluster' for type "redis"/],
  ];
  for (const [config, message] of bad) {
    vm.logs = [];
    assert.equal(vm.configure(config), false);
    assert.ok(
      vm.logs.some((l) => message.test(l.message)),
      `${JSON.stringify(config)}: ${JSON.stringify(vm.logs)}`,
    );
  }
  const stock = await WasmVm.load(WASM_ENVOY, newProcess(hostsOf(1), "game_pods"), false);
  assert.equal(stock.configure({ directory: { type: "redis", serviceName: "r.static" } }), false);
  assert.ok(stock.logs.some((l) => /'directory\.type': expected "etcd" on stock Envoy, got "redis"/.test(l.message)));
});
