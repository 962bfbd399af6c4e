// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The real build outputs, run under the TypeScript host emulator (tools/lib/host-emulator.ts).
// The Higress build cannot run in a real Higress here, so this is where its runtime path
// (proxy_get_upstream_hosts, proxy_set_upstream_override_host) is exercised. Both builds also get
// randomized hostile input, which must never trap the VM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmVm, newProcess, Process, UpstreamHost, adminClustersJson } from "../tools/lib/host-emulator";
import { WASM_ENVOY, WASM_HIGRESS } from "../tools/lib/paths";
import { browserHeaders } from "../tools/lib/clients";

const HOSTS = (): UpstreamHost[] => [
  { address: "10.0.0.1:8080", health: "Healthy" },
  { address: "10.0.0.2:8080", health: "Healthy" },
  { address: "10.0.0.3:8080", health: "Healthy" },
];
const path = (room: string, app = "a1") => `/ws?appId=${app}&roomId=${room}`;

/** Two VMs (two worker threads) of one Higress process. */
async function higress(config: object = {}, hosts = HOSTS()): Promise<{ proc: Process; vms: WasmVm[] }> {
  const proc = newProcess(hosts);
  const vms = [await WasmVm.load(WASM_HIGRESS, proc, true), await WasmVm.load(WASM_HIGRESS, proc, true)];
  for (const vm of vms) assert.equal(vm.configure(config), true, JSON.stringify(vm.logs));
  return { proc, vms };
}

test("the stock build loads on a stock host; the Higress build does not (it needs Higress's imports)", async () => {
  const proc = newProcess(HOSTS());
  await WasmVm.load(WASM_ENVOY, proc, false);
  await assert.rejects(
    WasmVm.load(WASM_HIGRESS, proc, false),
    /stock Envoy does not provide proxy_(set_upstream_override_host|get_upstream_hosts|redis_init|redis_call)/,
  );
});

test("Higress: 200 rooms x 5 players over two threads: one pod per room, every override honoured", async () => {
  const { proc, vms } = await higress();
  const podOf = new Map<string, Set<string>>();
  for (let p = 0; p < 5; p++) {
    for (let r = 0; r < 200; r++) {
      const out = vms[(r + p) % 2].request({ path: path(`r${r}`) });
      // A new room goes where the service's consistent hash on the room sends it; after that, an override.
      if (p === 0) assert.equal(out.requested, undefined, "a new room is placed by the gateway");
      else assert.equal(out.requested, out.upstream, "the override must name a usable member");
      assert.equal(out.headers.get("x-room-affinity-hash")?.length, 16);
      if (!podOf.has(`r${r}`)) podOf.set(`r${r}`, new Set());
      podOf.get(`r${r}`)!.add(out.upstream!);
    }
  }
  const split = [...podOf].filter(([, s]) => s.size > 1);
  assert.equal(split.length, 0);
  assert.equal(new Set([...podOf.values()].map((s) => [...s][0])).size, 3);
  assert.equal(proc.metrics.get("room_affinity.learned_total"), 200);
  for (const vm of vms) vm.tick(); // joins of known rooms are published on each tick
  assert.equal(proc.metrics.get("room_affinity.hits_total"), 800);
  assert.equal(proc.metrics.get("room_affinity.rejects.room_elsewhere_total"), 0);
});

test("Higress: each tick publishes the bucket reads a worker's copies served and missed", async () => {
  const { proc, vms } = await higress();
  const [mine, other] = vms;
  mine.request({ path: path("r0") }); // a new room: its bucket is written (and stamped)
  mine.request({ path: path("r0") }); // the write retired this worker's copy: a miss that takes a new copy
  for (const vm of vms) vm.tick();
  const served = proc.metrics.get("room_affinity.bucket_copies.served_total");
  const missed = proc.metrics.get("room_affinity.bucket_copies.missed_total");
  for (let i = 0; i < 5; i++) mine.request({ path: path("r0") });
  mine.tick();
  assert.equal(
    proc.metrics.get("room_affinity.bucket_copies.served_total") - served,
    5,
    "joins of an unchanged bucket are served by the copy",
  );
  assert.equal(proc.metrics.get("room_affinity.bucket_copies.missed_total"), missed);
  other.request({ path: path("r0") });
  other.tick();
  assert.equal(proc.metrics.get("room_affinity.bucket_copies.missed_total") - missed, 1, "another worker's first read has no copy yet");
  assert.equal(proc.metrics.get("room_affinity.bucket_copies.served_total") - served, 5);
});

test("Higress: a draining pod keeps its rooms and gets no new ones; unhealthy or removed pods' rooms re-pin", async () => {
  const { proc, vms } = await higress();
  const home = new Map<string, string>();
  for (let r = 0; r < 60; r++) home.set(`r${r}`, vms[0].request({ path: path(`r${r}`) }).upstream!);
  proc.hosts[0].health = "Draining";
  proc.nowMs += 1001; // past the per-thread host cache
  for (const [room, pod] of home) assert.equal(vms[1].request({ path: path(room) }).upstream, pod, `${room} left its draining pod`);
  for (let r = 0; r < 60; r++) assert.notEqual(vms[0].request({ path: path(`new${r}`) }).upstream, "10.0.0.1:8080");

  // 10.0.0.2 fails its health checks, 10.0.0.3 leaves, 10.0.0.4 joins: only 10.0.0.4 takes rooms now.
  proc.hosts[1].health = "Unhealthy";
  proc.hosts.splice(2, 1);
  proc.hosts.push({ address: "10.0.0.4:8080", health: "Healthy" });
  proc.nowMs += 1001;
  const repinsBefore = proc.metrics.get("room_affinity.repins_total");
  let moved = 0;
  for (const [room, pod] of home) {
    const a = vms[0].request({ path: path(room) });
    const b = vms[1].request({ path: path(room) });
    assert.equal(a.upstream, b.upstream, `${room} split`);
    if (pod === "10.0.0.1:8080") assert.equal(a.upstream, pod, `${room} left its draining pod`);
    else {
      assert.equal(a.upstream, "10.0.0.4:8080", `${room} should re-pin to the only eligible pod`);
      moved++;
    }
  }
  assert.ok(moved > 0);
  assert.equal(proc.metrics.get("room_affinity.repins_total") - repinsBefore, moved);
});

test("Higress: a thread that read a room's bucket before another thread moved the room asks for the new pod", async () => {
  const { proc, vms } = await higress();
  const home = new Map<string, string>();
  for (let r = 0; r < 60; r++) home.set(`r${r}`, vms[0].request({ path: path(`r${r}`) }).upstream!);
  // Thread 1 joins every room: it now holds copies of their buckets.
  for (const [room, pod] of home) assert.equal(vms[1].request({ path: path(room) }).requested, pod);
  // 10.0.0.2 fails: thread 0's joins are sent elsewhere by the gateway, and the rooms move there.
  proc.hosts[1].health = "Unhealthy";
  const movedTo = new Map<string, string>();
  for (const [room, pod] of home) {
    if (pod !== "10.0.0.2:8080") continue;
    const out = vms[0].request({ path: path(room) });
    assert.notEqual(out.upstream, pod);
    movedTo.set(room, out.upstream!);
  }
  assert.ok(movedTo.size > 0);
  // Thread 1 asks for the pod each room moved to, not the one its copy was taken under.
  for (const [room, pod] of movedTo) assert.equal(vms[1].request({ path: path(room) }).requested, pod, `${room} split`);
});

test("Higress: once a pod fails its health checks, joins of rooms last joined before ask for no override and go where the hash sends them", async () => {
  const { proc, vms } = await higress();
  const failing = "10.0.0.2:8080";
  const home = new Map<string, string>();
  for (let r = 0; r < 60; r++) home.set(`r${r}`, vms[0].request({ path: path(`r${r}`) }).upstream!);
  proc.nowMs += 2000; // the rooms were last joined seconds before the failure
  proc.hosts[1].health = "Unhealthy";
  proc.nowMs += 1001; // past the per-thread host cache
  vms[0].request({ path: path("observer") }); // a keyed request reads the hosts: the failure is recorded
  proc.nowMs += 1001;
  vms[0].request({ path: path("observer2") }); // a read a second later still shows it: a verdict that holds
  proc.nowMs += 300; // past each worker's view of the pods that are down
  let orphaned = 0;
  for (const [room, pod] of home) {
    if (pod !== failing) continue;
    orphaned++;
    const out = vms[1].request({ path: path(room) });
    assert.equal(out.requested, undefined, `${room}: an override to the failing pod was asked for`);
    assert.notEqual(out.upstream, failing);
    assert.equal(vms[0].request({ path: path(room) }).requested, out.upstream, `${room} was not moved where its join went`);
  }
  assert.ok(orphaned > 0);
  assert.equal(proc.metrics.get("room_affinity.pins_withheld.pod_down_total"), orphaned);
});

test("Higress: the sweeper evicts rooms of pods that left, from the tick", async () => {
  const { proc, vms } = await higress({ capacity: 1024, bucketSize: 8 });
  const home = new Map<string, string>();
  for (let r = 0; r < 90; r++) home.set(`r${r}`, vms[0].request({ path: path(`r${r}`) }).upstream!);
  const onGone = [...home.values()].filter((p) => p === "10.0.0.3:8080").length;
  proc.hosts.splice(2, 1);
  proc.nowMs += 1001;
  vms[0].request({ path: path("refresh") }); // a request refreshes this thread's view and publishes it
  for (let t = 0; t < 3; t++) {
    for (const vm of vms) vm.tick();
    proc.nowMs += 1000;
  }
  assert.equal(proc.metrics.get("room_affinity.evictions.pod_gone_total"), onGone);
  // 90 rooms plus "refresh", minus the evicted ones, counted over a full sweep cycle.
  assert.equal(proc.metrics.get("room_affinity.table.entries"), 91 - onGone);
});

test("stock Envoy build: tick fetches admin /clusters, pins go in the stateful_session header, client pins are replaced", async () => {
  const proc = newProcess(HOSTS(), "game_pods");
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({}), true);
  assert.equal(vm.tickPeriodMs, 1000);
  // Before membership is known, the load balancer chooses and the plugin learns it.
  const first = vm.request({ path: path("x") });
  assert.equal(first.requested, undefined);
  assert.equal(first.responseHeaders.get("x-room-affinity-pin"), undefined, "the echoed pin must be stripped");
  assert.equal(vm.request({ path: path("x") }).upstream, first.upstream);
  assert.equal(proc.metrics.get("room_affinity.learned_total"), 1);

  vm.tick();
  assert.equal(vm.httpCalls.length, 1);
  const call = vm.httpCalls[0];
  assert.equal(call.cluster, "room_affinity_admin");
  assert.deepEqual(Object.fromEntries(call.headers), { ":method": "GET", ":path": "/clusters?format=json", ":authority": "envoy-admin" });
  vm.answerHttpCall(200, adminClustersJson(proc));
  assert.equal(proc.metrics.get("room_affinity.membership.eligible_hosts"), 3);

  const forged = Buffer.from("10.0.0.9:1").toString("base64");
  for (let r = 0; r < 30; r++) {
    // A new room: the client's pin is removed and the gateway's hash places the room.
    const out = vm.request({ path: path(`p${r}`), headers: { "x-room-affinity-pin": forged } });
    assert.equal(out.requested, undefined, "a client pin must be removed");
    // A known room: the client's pin is replaced by the room's.
    const again = vm.request({ path: path(`p${r}`), headers: { "x-room-affinity-pin": forged } });
    assert.equal(again.requested, out.upstream, "a client pin must be replaced");
    assert.equal(again.upstream, out.upstream);
  }
  // Plain requests pass untouched, minus any client pin.
  const plain = vm.request({ path: "/api", upgrade: false, headers: { "x-room-affinity-pin": forged } });
  assert.equal(plain.headers.has("x-room-affinity-pin"), false);
  // A failed fetch is counted, and logged once.
  vm.tick();
  vm.answerHttpCall(503, "");
  vm.tick();
  vm.answerHttpCall(503, "");
  assert.equal(proc.metrics.get("room_affinity.membership.fetch_failures_total"), 2);
  assert.equal(vm.logs.filter((l) => /membership fetch failed: admin \/clusters answered 503/.test(l.message)).length, 1);
});

test("stock Envoy build with fallbackHeader: a new room goes to its first ranked pod, a retry to the next; pinned, its pod's successors; clients cannot list pods", async () => {
  const NEXT = "x-room-affinity-next";
  const hosts = [
    ...HOSTS(),
    { address: "10.0.0.4:8080", health: "Healthy" as const },
    { address: "10.0.0.5:8080", health: "Unhealthy" as const },
  ];
  const proc = newProcess(hosts, "game_pods");
  proc.overrideHostHeader = NEXT;
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({ fallbackHeader: NEXT }), true);
  // Before membership is known there is no ranking: no header, and the gateway's hash places the room.
  const early = vm.request({ path: path("early"), headers: { [NEXT]: "10.0.0.5:8080" } });
  assert.equal(early.headers.has(NEXT), false, "a client's list must be removed");
  vm.tick();
  vm.answerHttpCall(200, adminClustersJson(proc));
  const firsts = new Set<string>();
  for (let r = 0; r < 40; r++) {
    const join = vm.request({ path: path(`n${r}`), headers: { [NEXT]: "10.0.0.5:8080" } });
    const ranked = join.headers.get(NEXT)!.split(",");
    assert.equal(ranked.length, 4, "one pod per attempt, the unhealthy one left out");
    assert.equal(ranked.includes("10.0.0.5:8080"), false);
    assert.equal(join.upstream, ranked[0], "the first ranked pod places the room");
    firsts.add(ranked[0]);
    // Pinned now: the pods after its own, in the same order.
    const pinned = vm.request({ path: path(`n${r}`) });
    assert.equal(pinned.upstream, ranked[0]);
    assert.equal(pinned.headers.get(NEXT), ranked.slice(1).join(","));
  }
  assert.equal(firsts.size, 4, "new rooms spread over every healthy pod");
  // A new room whose first pod refuses connections (dead, not yet noticed): every player's retry goes to
  // the second ranked pod, and the room is learned there.
  const players = [0, 1, 2].map(() => vm.begin({ path: path("d2") }));
  const order = players[0].out.headers.get(NEXT)!.split(",");
  for (const p of players) {
    assert.equal(p.out.headers.get(NEXT), order.join(","), "players of one room carry one ranking");
    vm.retryJoin(p, new Set([order[0]]));
    assert.equal(p.out.upstream, order[1]);
  }
  for (const p of players) await vm.complete(p);
  assert.equal(vm.request({ path: path("d2") }).upstream, order[1]);
  // A request the plugin does not place loses a client's list too.
  const plain = vm.request({ path: "/api", upgrade: false, headers: { [NEXT]: "10.0.0.1:8080" } });
  assert.equal(plain.headers.has(NEXT), false);
});

/** A browser's WebSocket handshake headers, with a 6 kB cookie: nothing but :path and upgrade may key the room. */
const BROWSER_HEADERS = browserHeaders(120, 48);

test("a browser's handshake (many headers, a 6 kB cookie) is keyed from its :path, the same room as a bare client's", async () => {
  for (const [wasm, higressBuild] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const vm = await WasmVm.load(wasm, newProcess(HOSTS()), higressBuild);
    assert.equal(vm.configure({}), true);
    const first = vm.request({ path: path("big"), headers: BROWSER_HEADERS });
    assert.equal(first.headers.get("x-room-affinity-hash")?.length, 16, "the handshake is keyed");
    const bare = vm.request({ path: path("big") });
    assert.equal(bare.headers.get("x-room-affinity-hash"), first.headers.get("x-room-affinity-hash"), "one room whatever else is sent");
    assert.equal(bare.upstream, first.upstream);
    // The upgrade header is what makes a join: the same headers without it pass through.
    const plain = vm.request({ path: path("big"), headers: BROWSER_HEADERS, upgrade: false });
    assert.equal(plain.headers.has("x-room-affinity-hash"), false);
  }
});

test("headers read at once reuse one block: joins alternating a 6 kB cookie and none each key their own room", async () => {
  for (const [wasm, higressBuild] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const reference = await WasmVm.load(wasm, newProcess(HOSTS()), higressBuild);
    assert.equal(reference.configure({}), true);
    const vm = await WasmVm.load(wasm, newProcess(HOSTS()), higressBuild);
    assert.equal(vm.configure({}), true);
    for (let i = 0; i < 40; i++) {
      // A long path after a short one, a short after a long, with and without the cookie: no request
      // may read a byte left over from the one before it.
      const room = i % 2 ? `r${i}` : `room-with-a-much-longer-name-${i}`;
      const got = vm.request({ path: path(room), headers: i % 4 < 2 ? BROWSER_HEADERS : {} });
      const want = reference.request({ path: path(room) });
      assert.equal(got.headers.get("x-room-affinity-hash"), want.headers.get("x-room-affinity-hash"), `request ${i} (${room})`);
    }
  }
});

test("invalid config fails configuration with the field named, on both builds", async () => {
  for (const [file, h] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const vm = await WasmVm.load(file, newProcess(HOSTS()), h);
    assert.equal(vm.configure({ capacity: "big" }), false);
    assert.ok(
      vm.logs.some((l) => l.level === 4 && /invalid config field 'capacity': expected an integer from 1 to 16777216/.test(l.message)),
      JSON.stringify(vm.logs),
    );
    const vm2 = await WasmVm.load(file, newProcess(HOSTS()), h);
    assert.equal(vm2.configure('{"keyParams": ["a"'), false);
    assert.ok(
      vm2.logs.some((l) => /not valid JSON: expected ',' or '\]' at byte 18/.test(l.message)),
      JSON.stringify(vm2.logs),
    );
  }
});

test("Higress: a _match_route_ rule applies to requests of the named route only", async () => {
  const { proc, vms } = await higress({ _rules_: [{ _match_route_: ["default/game"], keyParams: ["threadId"], onMissingKey: "reject" }] });
  const vm = vms[0];
  // The emulated route is "default/game": the rule's key applies, appId/roomId alone are rejected.
  assert.equal(vm.request({ path: "/ws?threadId=7" }).localReply, undefined);
  assert.equal(vm.request({ path: path("r1") }).localReply?.status, 400);
  // Another route: the global settings apply again.
  proc.routeName = "default/lobby";
  assert.equal(vm.request({ path: path("r1") }).localReply, undefined);
  assert.equal(vm.request({ path: "/ws?threadId=7" }).localReply, undefined);
  assert.equal(proc.metrics.get("room_affinity.passthrough.missing_key_total"), 1);
});

/** Deterministic pseudo-random bytes (xorshift), so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

test("hostile request paths never trap either build (5,000 random paths each)", async () => {
  const alphabet = [
    "%",
    "%2",
    "%zz",
    "%3A",
    ":",
    "&",
    "=",
    "+",
    "?",
    "#",
    "appId",
    "roomId",
    "a",
    "\u00e9",
    "\xff",
    "\x00",
    "/",
    "&&",
    "==",
    "%00",
    "%FF",
  ];
  for (const [file, h] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const proc = newProcess(HOSTS(), "game_pods");
    const vm = await WasmVm.load(file, proc, h);
    assert.equal(vm.configure({ maxKeyLength: 64, onMissingKey: "reject" }), true);
    const rand = rng(h ? 7 : 11);
    const rejected = { room_affinity_key_too_long: 0, room_affinity_missing_key: 0 } as Record<string, number>;
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(rand() * 40);
      let s = "/ws?";
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      if (i % 50 === 0) s = `/ws?appId=a&roomId=${"x".repeat(60 + Math.floor(rand() * 20000))}${s.slice(4)}`;
      const out = vm.request({ path: "", rawPath: Buffer.from(s, "latin1") });
      if (out.localReply) {
        assert.equal(out.localReply.status, 400);
        assert.ok(out.localReply.details in rejected, out.localReply.details);
        rejected[out.localReply.details]++;
      }
    }
    assert.equal(rejected.room_affinity_key_too_long, 100, "every over-long key is rejected");
    assert.ok(rejected.room_affinity_missing_key > 4000, JSON.stringify(rejected));
    // Still healthy afterwards.
    assert.ok(vm.request({ path: path("after") }).upstream);
  }
});

test("wasm memory stays bounded over 100,000 joins (the minimal runtime collects between requests)", async () => {
  const proc = newProcess(HOSTS());
  const vm = await WasmVm.load(WASM_HIGRESS, proc, true);
  assert.equal(vm.configure({}), true);
  const pages: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    vm.request({ path: path(i % 2 ? `hot${i % 1000}` : `new${i}`) });
    if (i % 10_000 === 9_999) pages.push(vm.memory.buffer.byteLength / 65536);
  }
  // Growth would show as rising pages; the plateau must be reached early and kept.
  assert.ok(pages[pages.length - 1] <= 64, `wasm memory grew to ${pages[pages.length - 1]} pages: ${pages.join(",")}`);
  assert.equal(pages[pages.length - 1], pages[2], `memory still growing: ${pages.join(",")}`);
});

test("an urgent sweep after a pod leaves (50,000 rooms, collecting as it goes) evicts exactly its rooms and keeps the rest", async () => {
  const hosts: UpstreamHost[] = Array.from({ length: 5 }, (_, i) => ({ address: `10.0.1.${i + 1}:8080`, health: "Healthy" }));
  const proc = newProcess(hosts);
  const vm = await WasmVm.load(WASM_HIGRESS, proc, true);
  // Room to spare (no capacity evictions), so every room is in the table when the pod leaves.
  assert.equal(vm.configure({ capacity: 1048576, sweepBucketsPerTick: 64 }), true);
  const home = new Map<string, string>();
  for (let r = 0; r < 50_000; r++) home.set(`u${r}`, vm.request({ path: path(`u${r}`) }).upstream!);
  assert.equal(proc.metrics.get("room_affinity.evictions.capacity_total"), 0);
  for (let t = 0; t < 2; t++) {
    proc.nowMs += 1000;
    vm.tick();
  } // steady state, sees all 5 hosts
  const victim = "10.0.1.5:8080";
  const onVictim = [...home.values()].filter((p) => p === victim).length;
  proc.hosts.splice(4, 1);
  proc.nowMs += 1001;
  vm.request({ path: path("refresh") });
  const pagesBefore = vm.memory.buffer.byteLength / 65536;
  for (let t = 0; t < 2; t++) {
    proc.nowMs += 1000;
    vm.tick();
  } // two urgent passes cover the table
  assert.equal(proc.metrics.get("room_affinity.evictions.pod_gone_total"), onVictim);
  assert.ok(
    vm.memory.buffer.byteLength / 65536 <= pagesBefore + 16,
    `memory grew from ${pagesBefore} to ${vm.memory.buffer.byteLength / 65536} pages`,
  );
  // Every room of a surviving pod is still where it was (nothing freed too early, nothing lost).
  let checked = 0;
  for (const [room, pod] of home) {
    if (pod === victim || checked >= 5000) continue;
    assert.equal(vm.request({ path: path(room) }).upstream, pod, `${room} moved`);
    checked++;
  }
});

test("Higress: players sent to another pod than their room's are refused (503) and retry onto it; a gateway that does not hash on the room is reported", async () => {
  const { proc, vms } = await higress();
  proc.hashHeader = undefined; // the consistent-hash setting is missing
  // Three first players of each room decided before any upgrade completes, on both threads.
  for (let r = 0; r < 80; r++) {
    const pending = [0, 1, 2].map((i) => ({ vm: vms[i % 2], p: vms[i % 2].begin({ path: path(`c${r}`) }) }));
    const outs = pending.map(({ vm, p }) => vm.finish(p));
    // Whoever reached another pod than the one recorded first is refused...
    const room = outs.find((o) => !o.localReply)!.upstream;
    for (const o of outs) {
      if (o.upstream === room) assert.equal(o.localReply, undefined);
      else assert.deepEqual(o.localReply && [o.localReply.status, o.localReply.details], [503, "room_affinity_room_elsewhere"]);
    }
    // ...and its retry is pinned to the room's pod.
    for (const _refused of outs.filter((x) => x.localReply)) assert.equal(vms[0].request({ path: path(`c${r}`) }).upstream, room);
  }
  const conflicts = proc.metrics.get("room_affinity.rejects.room_elsewhere_total");
  assert.ok(conflicts > 0, "round robin must have sent some first players apart");
  const lines = vms
    .flatMap((vm) => vm.logs)
    .filter((l) => l.level === 4 && /does not hash on the header named by hashHeader/.test(l.message));
  assert.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} error lines (once per thread)`);
  // With the documented setting, the same race keeps every room on one pod.
  proc.hashHeader = "x-room-affinity-hash";
  const before = proc.metrics.get("room_affinity.rejects.room_elsewhere_total");
  for (let r = 0; r < 30; r++) {
    const pending = [0, 1, 2].map((i) => ({ vm: vms[i % 2], p: vms[i % 2].begin({ path: path(`h${r}`) }) }));
    const pods = new Set(pending.map(({ vm, p }) => vm.finish(p).upstream));
    assert.equal(pods.size, 1, `room h${r} split`);
  }
  assert.equal(proc.metrics.get("room_affinity.rejects.room_elsewhere_total"), before);
});

test("a flood of upgrades the upstream refuses (431, 502) enters no pin and evicts no confirmed room", async () => {
  for (const [file, h] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const proc = newProcess(HOSTS());
    const vm = await WasmVm.load(file, proc, h);
    assert.equal(vm.configure({ capacity: 64, bucketSize: 8 }), true);
    const home = new Map<string, string>();
    for (let r = 0; r < 40; r++) home.set(`live${r}`, vm.request({ path: path(`live${r}`) }).upstream!);
    for (let j = 0; j < 5000; j++) vm.request({ path: path(`junk${j}`), upstreamStatus: j % 2 ? 431 : 502 });
    assert.equal(proc.metrics.get("room_affinity.evictions.capacity_total"), 0, `${file}: junk evicted rooms`);
    assert.equal(proc.metrics.get("room_affinity.learned_total"), 40);
    for (const [room, pod] of home) {
      const out = vm.request({ path: path(room) });
      assert.equal(out.requested, pod, `${file}: ${room} lost its pin`);
    }
  }
});

test("a join routed to another cluster than the one a worker assumed gets a room of its own and moves no room", async () => {
  const podsOf = (net: number): UpstreamHost[] => [1, 2, 3].map((i) => ({ address: `10.0.${net}.${i}:8080`, health: "Healthy" as const }));
  for (const [wasm, higressBuild] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const [podsA, podsB] = [podsOf(1), podsOf(2)];
    const proc = newProcess(podsA, "outbound|80||game-a.svc");
    const vm = await WasmVm.load(wasm, proc, higressBuild, { profile: true });
    assert.equal(vm.configure({}), true);
    // Past the worker's first checks of the routed cluster: it now assumes game-a.
    const homeA = vm.request({ path: path("shared") }).upstream;
    for (let i = 0; i < 20; i++) assert.equal(vm.request({ path: path("shared") }).upstream, homeA);
    vm.tick();
    const repins = proc.metrics.get("room_affinity.repins_total");
    // The same key routed to game-b, whose pods are others: the pin to game-a's pod is not honoured.
    proc.cluster = "outbound|80||game-b.svc";
    proc.hosts = podsB;
    vm.profile!.reset();
    const first = vm.request({ path: path("shared") });
    assert.equal(first.localReply, undefined, `${wasm}: the player is let through`);
    assert.ok(
      podsB.some((h) => h.address === first.upstream),
      `${wasm}: reached ${first.upstream}`,
    );
    assert.equal(vm.profile!.properties.get("xds.cluster_name"), 1, `${wasm}: assumed, then read once the pin was not honoured`);
    const homeB = first.upstream;
    for (let i = 0; i < 5; i++) assert.equal(vm.request({ path: path("shared") }).upstream, homeB, `${wasm}: game-b's room holds`);
    proc.cluster = "outbound|80||game-a.svc";
    proc.hosts = podsA;
    for (let i = 0; i < 5; i++) assert.equal(vm.request({ path: path("shared") }).upstream, homeA, `${wasm}: game-a's room never moved`);
    vm.tick();
    assert.equal(proc.metrics.get("room_affinity.repins_total"), repins, `${wasm}: no room was moved`);
    const said = vm.logs.filter((l) =>
      l.message.includes("keyed requests reach two clusters (outbound|80||game-a.svc, outbound|80||game-b.svc)"),
    );
    assert.equal(said.length, 1, `${wasm}: the end of the assumption is logged once`);
  }
});

test("one room key routed to two clusters is two rooms, however the requests alternate between them", async () => {
  for (const [wasm, higressBuild] of [
    [WASM_ENVOY, false],
    [WASM_HIGRESS, true],
  ] as const) {
    const proc = newProcess(HOSTS());
    const vm = await WasmVm.load(wasm, proc, higressBuild);
    assert.equal(vm.configure({}), true);
    vm.tick();
    const learned = proc.metrics.get("room_affinity.learned_total");
    // Names of one length that differ in one byte. The worker's first checks of the routed cluster find
    // a second one, and from then on it reads the cluster on every keyed request.
    const clusters = ["outbound|80||game-a.svc", "outbound|80||game-b.svc", "outbound|80||game-a.svc", "game", "outbound|80||game-b.svc"];
    const hashes = clusters.map((c) => {
      proc.cluster = c;
      return vm.request({ path: path("shared") }).headers.get("x-room-affinity-hash");
    });
    vm.tick();
    assert.equal(proc.metrics.get("room_affinity.learned_total") - learned, 3, `${wasm}: one room per cluster, each learned once`);
    // The gateway hashes within the routed cluster: every player of the key carries one hash.
    assert.equal(new Set(hashes).size, 1, `one hash for the key: ${hashes.join(", ")}`);
  }
});
