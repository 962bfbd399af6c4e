// End-to-end: real Envoy (--concurrency 2, so two worker threads race on the table) with the stock
// build of the plugin, in front of three real WebSocket pods.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startGateway, Gateway } from "../tools/lib/gateway";
import { join, closeAll, mapLimit, HttpRejection, Joined } from "../tools/lib/clients";
import { httpGet, sleep, waitFor } from "../tools/lib/envoy";
import { PIN_HEADER } from "../tools/lib/envoy-config";
import { assignment, roomIdOf } from "../tools/lib/players";

const ROOMS = 200;
const PLAYERS = 5;
let gw: Gateway;
/** roomId -> pod, from the first wave. */
const roomPod = new Map<string, string>();

before(async () => {
  gw = await startGateway({ name: "e2e-affinity", listenPort: 20100, adminPort: 20101, podBasePort: 20111 });
  await gw.waitMembership(3);
});

after(async () => {
  await gw?.close();
});

test(`${ROOMS} rooms x ${PLAYERS} players connecting concurrently: 0 split rooms, all 3 pods used`, async () => {
  const players: { room: string }[] = [];
  for (let r = 0; r < ROOMS; r++) for (let p = 0; p < PLAYERS; p++) players.push({ room: `r${r}` });
  const t0 = Date.now();
  // Each room's players are adjacent, so with 250 in flight they race each other on both workers.
  const joined = await mapLimit(players, 250, (pl) => join(gw.url("a1", pl.room)));
  console.log(`joined ${joined.length} players in ${Date.now() - t0} ms`);
  try {
    assert.equal(joined.length, ROOMS * PLAYERS);
    assert.deepEqual(assignment(joined).split, [], "rooms split across pods");
    for (const j of joined) roomPod.set(roomIdOf(j), j.pod);
    const perPod = new Map<string, number>();
    for (const pod of roomPod.values()) perPod.set(pod, (perPod.get(pod) ?? 0) + 1);
    console.log(`rooms per pod: ${JSON.stringify(Object.fromEntries(perPod))}`);
    assert.equal(perPod.size, 3, "rooms should spread over all 3 pods");
    for (const n of perPod.values()) assert.ok(n >= ROOMS / 6, `uneven spread: ${JSON.stringify(Object.fromEntries(perPod))}`);
    // Every pod reports exactly the players we believe it has.
    const stats = await Promise.all(gw.pods.map((p) => p.stats()));
    assert.equal(stats.reduce((n, s) => n + s.players, 0), ROOMS * PLAYERS);
  } finally {
    await closeAll(joined);
  }
  assert.equal(await gw.stat("pins"), ROOMS);
  assert.equal(await gw.stat("repins"), 0);
});

test("everyone reconnects from new source addresses (127.0.0.x): 100% return to their room's pod", async () => {
  assert.equal(roomPod.size, ROOMS, "needs the first test's rooms");
  const players: { room: string; ip: string }[] = [];
  let n = 0;
  for (let r = 0; r < ROOMS; r++) for (let p = 0; p < PLAYERS; p++) players.push({ room: `r${r}`, ip: `127.0.${1 + (n % 200)}.${2 + (n++ % 250)}` });
  const joined = await mapLimit(players, 250, (pl) => join(gw.url("a1", pl.room), { localAddress: pl.ip }));
  try {
    const wrong = joined.filter((j) => roomPod.get(roomIdOf(j)) !== j.pod);
    assert.equal(wrong.length, 0, `players on the wrong pod: ${wrong.slice(0, 5).map((j) => `${j.room}@${j.pod}`).join(" ")}`);
  } finally {
    await closeAll(joined);
  }
  const sources = new Set(gw.accessLog().slice(-ROOMS * PLAYERS).map((l) => l.split(" ").pop()!.split(":")[0]));
  assert.ok(sources.size > 100, `Envoy saw only ${sources.size} source addresses`);
});

test("a client's own pin header cannot choose the pod", async () => {
  const roomIds = [...roomPod.keys()].slice(0, 30);
  const pods = gw.pods.map((p) => gw.podAddress(p));
  const joined: Joined[] = [];
  try {
    for (const room of roomIds) {
      const home = roomPod.get(room)!;
      // Point the pin at a pod that is not the room's.
      const other = gw.pods.find((p) => p.id !== home)!;
      const forged = Buffer.from(gw.podAddress(other)).toString("base64");
      joined.push(await join(gw.url("a1", room), { headers: { [PIN_HEADER]: forged } }));
      assert.equal(joined[joined.length - 1].pod, home, `room ${room} followed the client's pin`);
    }
  } finally {
    await closeAll(joined);
  }
  // Plain HTTP (not an upgrade, no affinity) must not be steerable either: round robin spreads it.
  const forged = Buffer.from(pods[2]).toString("base64");
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await new Promise<string>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: gw.layout.listenPort, path: "/status", headers: { [PIN_HEADER]: forged } }, (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolve(JSON.parse(b).pod));
      }).on("error", reject);
    });
    seen.add(r);
  }
  assert.ok(seen.size > 1, `all plain requests went to ${[...seen]}: the forged pin was honoured`);
});

test("the pin never leaks to clients", async () => {
  const r = await httpGet("127.0.0.1", gw.layout.listenPort, "/plain");
  assert.equal(r.headers[PIN_HEADER], undefined);
  // The WebSocket 101 response: use a raw upgrade to read its headers.
  const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1", port: gw.layout.listenPort, path: "/ws?appId=a1&roomId=r1",
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    req.on("upgrade", (res, socket) => { socket.destroy(); resolve(res.headers); });
    req.on("error", reject);
    req.end();
  });
  assert.equal(headers[PIN_HEADER], undefined, "101 response exposes the pod address");
});

test("missing key: passthrough reaches a pod and is counted", async () => {
  const before = await gw.stat("passthrough.missing_key");
  const j = await join(`ws://127.0.0.1:${gw.layout.listenPort}/ws?appId=a1`);
  await closeAll([j]);
  assert.ok(gw.pods.some((p) => p.id === j.pod));
  assert.equal(await gw.stat("passthrough.missing_key"), before + 1);
});

test("over-long key: 400 with response details room_affinity_key_too_long", async () => {
  const long = "x".repeat(600);
  await assert.rejects(join(gw.url("a1", long)), (e: unknown) => e instanceof HttpRejection && e.status === 400 && /longer than 512/.test(e.body));
  await waitFor("access log line", async () => gw.accessLog().some((l) => / 400 room_affinity_key_too_long /.test(l)), 5000);
  assert.equal(await gw.stat("rejects.key_too_long"), 1);
});

test("config hot reload (ECDS): reject mode answers 400 room_affinity_missing_key, pins survive", async () => {
  const reloads = await gw.ecdsStat("config_reload");
  await gw.pushPluginConfig({ onMissingKey: "reject" });
  await waitFor("ECDS reload", async () => (await gw.ecdsStat("config_reload")) > reloads, 10000);
  // The new config reaches every worker; retry until this one sees it.
  await waitFor("reject mode", async () => {
    try {
      const j = await join(`ws://127.0.0.1:${gw.layout.listenPort}/ws?roomId=9`);
      await closeAll([j]);
      return false;
    } catch (e) {
      return e instanceof HttpRejection && e.status === 400 && /missing query parameter 'appId'/.test(e.body);
    }
  }, 10000);
  await waitFor("access log line", async () => gw.accessLog().some((l) => / 400 room_affinity_missing_key /.test(l)), 5000);
  // The table lives in shared data: rooms pinned before the reload are still on their pods.
  const sample = [...roomPod.keys()].slice(0, 40);
  const joined = await Promise.all(sample.map((r) => join(gw.url("a1", r))));
  try {
    for (const j of joined) assert.equal(j.pod, roomPod.get(roomIdOf(j)));
  } finally {
    await closeAll(joined);
  }
});

test("invalid plugin config: Envoy rejects it naming the field, and keeps serving with the last good one", async () => {
  const fails = await gw.ecdsStat("config_fail");
  await gw.pushPluginConfig({ keyParams: "roomId" });
  await waitFor("ECDS rejection", async () => (await gw.ecdsStat("config_fail")) > fails, 10000);
  assert.match(gw.envoy.log(), /invalid config field 'keyParams': expected a non-empty array/);
  const j = await join(gw.url("a1", "r5"));
  await closeAll([j]);
  assert.equal(j.pod, roomPod.get("r5"));
  // Still the previous (reject-mode) config.
  await assert.rejects(join(`ws://127.0.0.1:${gw.layout.listenPort}/ws?roomId=9`), (e: unknown) => e instanceof HttpRejection && e.status === 400);
});

test("without membership (admin fetch disabled): the first player's pod, chosen by Envoy, becomes the pin", async () => {
  // A fresh table namespace and no admin cluster: the plugin must learn pins from the load balancer.
  const reloads = await gw.ecdsStat("config_reload");
  await gw.pushPluginConfig({ adminCluster: "", sharedDataPrefix: "learn-test" });
  await waitFor("ECDS reload", async () => (await gw.ecdsStat("config_reload")) > reloads, 10000);
  await sleep(300);
  const learnedBefore = await gw.stat("learned");
  const rooms = Array.from({ length: 30 }, (_, i) => `learn${i}`);
  const firsts = await mapLimit(rooms, 1, (r) => join(gw.url("a1", r)));
  const rest = await mapLimit(rooms.flatMap((r) => [r, r, r, r]), 40, (r) => join(gw.url("a1", r)));
  try {
    const first = new Map(firsts.map((j) => [j.room, j.pod]));
    assert.ok(new Set(first.values()).size > 1, "round robin should have spread the first players");
    const wrong = rest.filter((j) => first.get(j.room) !== j.pod);
    assert.equal(wrong.length, 0, `players did not follow the learned pin: ${wrong.slice(0, 5).map((j) => j.room).join(" ")}`);
  } finally {
    await closeAll([...firsts, ...rest]);
  }
  assert.equal((await gw.stat("learned")) - learnedBefore, rooms.length);
  for (const j of firsts) learnedPod.set(j.room, j.pod);
});

/** "a1:learnN" -> pod, from the learn-mode test. */
const learnedPod = new Map<string, string>();

test("a pin Envoy will not honour (pod left the endpoints) moves the whole room to Envoy's new choice", async () => {
  assert.ok(learnedPod.size > 0, "needs the learn-mode test's rooms");
  const gone = gw.pods[0];
  const keep = gw.pods.slice(1);
  gw.setEndpoints(keep.map((p) => ({ host: p.host, port: p.port })));
  await waitFor("EDS update", async () => !(await gw.clusterHosts()).includes(gw.podAddress(gone)), 10000);
  const orphaned = [...learnedPod].filter(([, pod]) => pod === gone.id).map(([room]) => room.slice(3));
  assert.ok(orphaned.length > 0, `no learned room was on ${gone.id}`);
  const before = await gw.stat("repins_after_fallback");
  // One player per orphaned room first (Envoy's load balancer picks), then four more each, concurrently.
  const firsts = await mapLimit(orphaned, 1, (r) => join(gw.url("a1", r)));
  const rest = await mapLimit(orphaned.flatMap((r) => [r, r, r, r]), 40, (r) => join(gw.url("a1", r)));
  try {
    const first = new Map(firsts.map((j) => [j.room, j.pod]));
    for (const pod of first.values()) assert.notEqual(pod, gone.id);
    const wrong = rest.filter((j) => first.get(j.room) !== j.pod);
    assert.equal(wrong.length, 0, `players scattered after the fallback: ${wrong.slice(0, 5).map((j) => `${j.room}@${j.pod}`).join(" ")}`);
  } finally {
    await closeAll([...firsts, ...rest]);
  }
  assert.equal((await gw.stat("repins_after_fallback")) - before, orphaned.length);
});

test("per-route rules (Higress _rules_): another domain keys rooms by platform/nodeName/threadId, unchanged clients", async () => {
  const reloads = await gw.ecdsStat("config_reload");
  await gw.pushPluginConfig({
    sharedDataPrefix: "rules-test",
    _rules_: [
      { _match_domain_: ["*.wx.game.local"], keyParams: ["platform", "nodeName", "threadId"], onMissingKey: "reject" },
      { _match_route_: ["no-such-route"], keyParams: ["never"] },
    ],
  });
  await waitFor("ECDS reload", async () => (await gw.ecdsStat("config_reload")) > reloads, 10000);
  await gw.waitMembership(2);
  const wx = (q: string) => join(`ws://127.0.0.1:${gw.layout.listenPort}/ws?${q}`, { headers: { Host: "h5.wx.game.local:443" } });
  // Waits until every worker runs the new config (the rule rejects appId/roomId-only requests there).
  await waitFor("rules in force", async () => {
    try { await closeAll([await wx("appId=a&roomId=1")]); return false; } catch (e) { return e instanceof HttpRejection && e.status === 400; }
  }, 10000);
  const players: Joined[] = [];
  try {
    for (let p = 0; p < 3; p++) {
      players.push(...(await Promise.all(Array.from({ length: 30 }, (_, t) => wx(`platform=wechat&nodeName=n${t % 3}&threadId=${t}`)))));
    }
    // The pod reports appId:roomId, which these clients do not send; group by the thread instead.
    const byThread = new Map<string, Set<string>>();
    players.forEach((j, i) => {
      const t = String(i % 30);
      if (!byThread.has(t)) byThread.set(t, new Set());
      byThread.get(t)!.add(j.pod);
    });
    assert.deepEqual([...byThread].filter(([, s]) => s.size > 1), [], "rooms split on the rule's key");
    assert.ok(new Set([...byThread.values()].map((s) => [...s][0])).size > 1, "rule-keyed rooms should spread");
    // Other hosts keep the global key (and passthrough): appId/roomId rooms still work there.
    const plain = await Promise.all([0, 1, 2].map(() => join(gw.url("a1", "rules-global"))));
    players.push(...plain);
    assert.equal(new Set(plain.map((j) => j.pod)).size, 1);
  } finally {
    await closeAll(players);
  }
});
