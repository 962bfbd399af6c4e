// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The request decision without a host: one case per outcome of each phase.
import { parseConfig } from "../config/config";
import { AffinityTable, Outcome, Resolution } from "../table/table";
import { TableHistory } from "../table/history";
import {
  RequestDecider,
  RequestFacts,
  RequestDecision,
  RequestAction,
  PassReason,
  ResponseAction,
  StreamState,
  routesOf,
  DeferredFacts,
  upgradesToWebSocket,
  requestLabel,
  responseLabel,
} from "../request/decision";
import { rejectionReply, DETAILS_MISSING_KEY, DETAILS_KEY_TOO_LONG } from "../request/local-replies";
import { FixedFacts, readsEveryRequest } from "./helpers";
import { MemoryStore, lookup } from "./memory-store";

const CLUSTER = "game_pods";
const POD_A = "10.0.0.1:8080";
const POD_B = "10.0.0.2:8080";
const POD_C = "10.0.0.3:8080";
const NOW_MS: u64 = 1_700_000_000_000;
const NOW_S: u32 = <u32>(NOW_MS / 1000);
/** The clock of the response phase, at NOW_MS. */
const AT_NOW = new FixedFacts(CLUSTER, NOW_MS);

/** A host that counts what the decision reads from it; `routedTo` is the cluster it names. */
class CountingFacts extends DeferredFacts {
  clusterReads: i32 = 0;
  clockReads: i32 = 0;
  routedTo: string = CLUSTER;
  cluster(): string | null {
    this.clusterReads++;
    return this.routedTo;
  }
  nowMs(): u64 {
    this.clockReads++;
    return NOW_MS;
  }
}

function hostJoin(path: string, host: CountingFacts, websocket: bool = true): RequestFacts {
  const f = new RequestFacts();
  f.path = Uint8Array.wrap(String.UTF8.encode(path));
  f.isWebSocket = websocket;
  f.deferred = host;
  return f;
}

function decider(config: string = "{}", history: TableHistory | null = null, store: MemoryStore = new MemoryStore()): RequestDecider {
  const c = parseConfig(Uint8Array.wrap(String.UTF8.encode(config))).config!;
  const table = new AffinityTable(store, "ra", 64, 8, 3600, 10);
  return new RequestDecider(routesOf(c), table, history);
}

/** A decider whose rooms a room directory settles (the table is written only once it has). */
function settledByDirectory(): RequestDecider {
  const table = new AffinityTable(new MemoryStore(), "ra", 64, 8, 3600, 10);
  return new RequestDecider(routesOf(parseConfig(Uint8Array.wrap(String.UTF8.encode("{}"))).config!), table, null, 0, true);
}

function join(path: string, websocket: bool = true, host: string = "game.example.com"): RequestFacts {
  const f = new RequestFacts();
  f.path = Uint8Array.wrap(String.UTF8.encode(path));
  f.isWebSocket = websocket;
  f.cluster = CLUSTER;
  f.host = host;
  f.nowMs = NOW_MS;
  return f;
}

const ROOM = "/ws?appId=a1&roomId=r9";

describe("request decision", () => {
  it("passes a non-WebSocket request through untouched", () => {
    const d = decider().decide(join(ROOM, false));
    expect(d.action).toBe(RequestAction.PassThrough);
    expect(d.passReason).toBe(PassReason.NotWebSocket);
  });
  it("reads neither the routed cluster nor the clock for a request it passes or rejects", () => {
    const host = new CountingFacts();
    decider().decide(hostJoin(ROOM, host, false));
    decider().decide(hostJoin("/ws?appId=a1", host));
    decider('{"onMissingKey":"reject"}').decide(hostJoin("/ws?roomId=r9", host));
    decider('{"maxKeyLength":8}').decide(hostJoin(ROOM, host));
    expect(host.clusterReads).toBe(0);
    expect(host.clockReads).toBe(0);
  });
  it("reads the routed cluster and the clock once for a keyed join", () => {
    const host = new CountingFacts();
    const d = decider().decide(hostJoin(ROOM, host));
    expect(d.action).toBe(RequestAction.Learn);
    expect(host.clusterReads).toBe(1);
    expect(host.clockReads).toBe(1);
  });
  it("passes a non-WebSocket request without matching rules or reading the cluster when every route passes it", () => {
    const host = new CountingFacts();
    const d = decider('{"_rules_":[{"_match_service_":["x"],"keyParams":["t"]}]}').decide(hostJoin(ROOM, host, false));
    expect(d.passReason).toBe(PassReason.NotWebSocket);
    expect(host.clusterReads).toBe(0);
  });
  it("matches rules for a non-WebSocket request when a route keys plain requests too", () => {
    const host = new CountingFacts();
    const dc = decider('{"_rules_":[{"_match_service_":["x"],"websocketOnly":false}]}');
    expect(dc.passesEveryNonWebSocket).toBe(false);
    dc.decide(hostJoin(ROOM, host, false));
    expect(host.clusterReads).toBe(1);
  });
  it("reads the routed cluster before the key when rules can match on it", () => {
    const host = new CountingFacts();
    decider('{"_rules_":[{"_match_service_":["x"],"keyParams":["t"]}]}').decide(hostJoin("/ws?appId=a1", host));
    expect(host.clusterReads).toBe(1);
  });
  it("reads the routed cluster of every keyed join when a rule matches by service", () => {
    const host = new CountingFacts();
    const dc = decider('{"_rules_":[{"_match_service_":["x"],"keyParams":["t"]}]}');
    for (let i = 0; i < 100; i++) dc.decide(hostJoin(ROOM, host));
    expect(host.clusterReads).toBe(100);
  });
  it("assumes the cluster of a worker's earlier joins for a known room, reading it on a sample only", () => {
    const host = new CountingFacts();
    const dc = decider();
    const first = dc.decide(hostJoin(ROOM, host));
    dc.table.learn(first.fingerprint, NOW_S, POD_A);
    for (let i = 0; i < 16; i++) dc.decide(hostJoin(ROOM, host)); // the first checks
    host.clusterReads = 0;
    for (let i = 0; i < 640; i++) {
      const d = dc.decide(hostJoin(ROOM, host));
      expect(d.fingerprint).toBe(first.fingerprint);
      expect(d.address).toBe(POD_A);
    }
    expect(host.clusterReads).toBe(10);
  });
  it("keys a new room under the cluster it was routed to, not the one assumed", () => {
    const host = new CountingFacts();
    const dc = decider();
    for (let i = 0; i < 17; i++) dc.decide(hostJoin("/ws?appId=a1&roomId=warm", host));
    host.routedTo = "other_pods";
    const d = dc.decide(hostJoin(ROOM, host));
    expect(d.action).toBe(RequestAction.Learn);
    expect(d.assumedCluster).toBe(false);
    expect(d.fingerprint).toBe(decider().decide(hostJoin(ROOM, host)).fingerprint);
    expect(readsEveryRequest(dc.routedCluster)).toBe(true);
  });
  it("recognises a WebSocket upgrade header in any ASCII case, and nothing else", () => {
    expect(upgradesToWebSocket(Uint8Array.wrap(String.UTF8.encode("websocket")))).toBe(true);
    expect(upgradesToWebSocket(Uint8Array.wrap(String.UTF8.encode("WebSocket")))).toBe(true);
    expect(upgradesToWebSocket(Uint8Array.wrap(String.UTF8.encode("h2c")))).toBe(false);
    expect(upgradesToWebSocket(Uint8Array.wrap(String.UTF8.encode("websocke\x7f")))).toBe(false);
    expect(upgradesToWebSocket(Uint8Array.wrap(String.UTF8.encode("websocket2")))).toBe(false);
    const within = Uint8Array.wrap(String.UTF8.encode("upgrade=websocket;"));
    expect(upgradesToWebSocket(within, 8, 17)).toBe(true);
    expect(upgradesToWebSocket(within, 8, 18)).toBe(false);
    expect(upgradesToWebSocket(within, 9, 18)).toBe(false);
  });
  it("passes a request without a room key through (passthrough policy)", () => {
    const d = decider().decide(join("/ws?appId=a1"));
    expect(d.action).toBe(RequestAction.PassThrough);
    expect(d.passReason).toBe(PassReason.MissingKey);
  });
  it("rejects a request without a room key with 400 room_affinity_missing_key (reject policy)", () => {
    const d = decider('{"onMissingKey":"reject"}').decide(join("/ws?roomId=r9"));
    expect(d.action).toBe(RequestAction.Reject);
    expect(rejectionReply(d).status).toBe(400);
    expect(rejectionReply(d).details).toBe(DETAILS_MISSING_KEY);
    expect(rejectionReply(d).body).toBe("missing query parameter 'appId'\n");
  });
  it("rejects an over-long key with 400 room_affinity_key_too_long", () => {
    const d = decider('{"maxKeyLength":16}').decide(join("/ws?appId=a1&roomId=0123456789abcdef"));
    expect(d.action).toBe(RequestAction.Reject);
    expect(rejectionReply(d).status).toBe(400);
    expect(rejectionReply(d).details).toBe(DETAILS_KEY_TOO_LONG);
    expect(rejectionReply(d).body).toBe("room key longer than 16 bytes\n");
  });
  it("leaves a new room to the gateway's hash: Learn, with the room's hash for the hash header", () => {
    const dc = decider();
    const d = dc.decide(join(ROOM));
    expect(d.action).toBe(RequestAction.Learn);
    expect(d.resolution!.outcome).toBe(Outcome.NoPlacement);
    expect(d.roomHash.length).toBe(16);
    const s = dc.streamState(d, join(ROOM));
    expect(s.learning).toBe(true);
    expect(s.pinned).toBe("");
    expect(s.upgrade).toBe(true);
    // Nothing is written before the upstream accepts.
    expect(lookup(dc.table, d.fingerprint, NOW_S)).toBeNull();
  });
  it("gives every player of a room the same room hash, and other rooms other hashes", () => {
    const dc = decider();
    expect(dc.decide(join(ROOM)).roomHash).toBe(dc.decide(join(ROOM)).roomHash);
    expect(dc.decide(join("/ws?appId=a1&roomId=r10")).roomHash == dc.decide(join(ROOM)).roomHash).toBe(false);
  });
  it("gives a room's players one hash whether their worker read the routed cluster or assumed another", () => {
    const host = new CountingFacts();
    const dc = decider();
    assumingRoomOnPodA(dc, host);
    host.routedTo = "other_pods";
    const assumed = dc.decide(hostJoin(ROOM, host));
    expect(assumed.assumedCluster).toBe(true);
    expect(assumed.roomHash).toBe(decider().decide(hostJoin(ROOM, host)).roomHash);
  });
  it("pins a known room to its pod, whatever the plugin thinks of that pod (the gateway judges it)", () => {
    const dc = decider();
    const first = dc.decide(join(ROOM));
    dc.table.learn(first.fingerprint, NOW_S, POD_A);
    const next = dc.decide(join(ROOM));
    expect(next.action).toBe(RequestAction.Pin);
    expect(next.resolution!.outcome).toBe(Outcome.Hit);
    expect(next.address).toBe(POD_A);
    expect(next.roomHash).toBe(first.roomHash);
    expect(dc.streamState(next, join(ROOM)).pinned).toBe(POD_A);
  });
  it("leaves nothing of an earlier request in a decision and resolution the request hook reuses", () => {
    const dc = decider('{"onMissingKey":"reject"}');
    const d = new RequestDecision();
    const found = new Resolution();
    dc.table.learn(dc.decide(join(ROOM)).fingerprint, NOW_S, POD_A);
    expect(dc.decide(join(ROOM), d, found).address).toBe(POD_A);
    expect(d.key).not.toBeNull();
    dc.decide(join("/ws?appId=a1"), d, found);
    expect(d.action).toBe(RequestAction.Reject);
    expect(d.key).toBeNull();
    expect(d.address).toBe("");
    expect(d.fingerprint).toBe(0);
    dc.decide(join("/ws?appId=a1&roomId=new"), d, found);
    expect(d.action).toBe(RequestAction.Learn);
    expect(d.rejectionDetail).toBe("");
    expect(found.address).toBe("");
    expect(found.outcome).toBe(Outcome.NoPlacement);
  });
  it("leaves a passed or refused request one shared state that checks nothing on its response", () => {
    const dc = decider('{"onMissingKey":"reject"}');
    const plain = join(ROOM, false);
    const passed = dc.streamState(dc.decide(plain), plain);
    const missing = join("/ws?appId=a1");
    const refused = dc.streamState(dc.decide(missing), missing);
    expect(changetype<usize>(refused)).toBe(changetype<usize>(passed));
    expect(passed.pinned).toBe("");
    expect(passed.learning).toBe(false);
    expect(dc.afterResponse(passed, POD_A, "101", AT_NOW).action).toBe(ResponseAction.Strip);
    const learning = join(ROOM);
    expect(dc.streamState(dc.decide(learning), learning).learning).toBe(true);
  });
  it("empties reused facts: nothing of the request before reaches the next", () => {
    const f = join(ROOM);
    expect(f.nowMs).toBe(NOW_MS);
    const host = new CountingFacts();
    f.reset(host);
    expect(f.isWebSocket).toBe(false);
    expect(f.pathEnd - f.pathStart).toBe(0);
    expect(f.host).toBe("");
    expect(f.clusterRead).toBe(false);
    expect(f.cluster).toBe(CLUSTER);
    expect(f.nowMs).toBe(NOW_MS);
    expect(host.clusterReads).toBe(1);
    expect(host.clockReads).toBe(1);
  });
  it("carries a room over from a previous table geometry and pins it there", () => {
    const store = new MemoryStore();
    const old = new AffinityTable(store, "old", 32, 4, 3600, 10);
    const dc = decider("{}", new TableHistory([old]), store);
    const fp = dc.decide(join(ROOM)).fingerprint;
    old.learn(fp, NOW_S, POD_B);
    const d = dc.decide(join(ROOM));
    expect(d.action).toBe(RequestAction.Pin);
    expect(d.adopted).toBe(true);
    expect(d.address).toBe(POD_B);
    expect(lookup(dc.table, fp, NOW_S)!.address).toBe(POD_B);
  });
  it("keys rooms per routed cluster: the same room on two clusters is two rooms", () => {
    const dc = decider();
    const a = dc.decide(join(ROOM));
    const f = join(ROOM);
    f.cluster = "other_pods";
    const b = dc.decide(f);
    expect(a.fingerprint == b.fingerprint).toBe(false);
  });
  it("applies the first matching _rules_ entry: its key params, its missing-key policy", () => {
    const dc = decider('{"_rules_":[{"_match_domain_":["*.wx.game.local"],"keyParams":["threadId"],"onMissingKey":"reject"}]}');
    expect(dc.needsRouteFacts).toBe(true);
    const wx = dc.decide(join("/ws?threadId=7", true, "h5.wx.game.local"));
    expect(wx.action).toBe(RequestAction.Learn);
    const wxNoKey = dc.decide(join(ROOM, true, "h5.wx.game.local"));
    expect(wxNoKey.action).toBe(RequestAction.Reject);
    const other = dc.decide(join("/ws?threadId=7", true, "game.example.com"));
    expect(other.passReason).toBe(PassReason.MissingKey);
  });
});

/** A stream of room 42 that found no pod and waits to learn the load balancer's choice. */
function learning(): StreamState {
  const s = new StreamState();
  s.fingerprint = 42;
  s.learning = true;
  s.upgrade = true;
  return s;
}

function pinnedTo(address: string): StreamState {
  const s = new StreamState();
  s.fingerprint = 42;
  s.pinned = address;
  s.upgrade = true;
  return s;
}

/**
 * ROOM pinned to POD_A in `host`'s cluster, and `dc`'s worker past its first checks of that cluster:
 * its next joins assume it. Returns the decision that found ROOM new.
 */
function assumingRoomOnPodA(dc: RequestDecider, host: CountingFacts): RequestDecision {
  const home = dc.decide(hostJoin(ROOM, host));
  dc.table.learn(home.fingerprint, NOW_S, POD_A);
  for (let i = 0; i < 17; i++) dc.decide(hostJoin(ROOM, host));
  return home;
}

describe("response decision", () => {
  it("does nothing when the pin was honoured", () => {
    const d = decider().afterResponse(pinnedTo(POD_A), POD_A, null, AT_NOW);
    expect(d.action).toBe(ResponseAction.None);
  });
  it("reads the clock only to write a pin", () => {
    const host = new CountingFacts();
    const dc = decider();
    dc.afterResponse(pinnedTo(POD_A), POD_A, null, host);
    dc.afterResponse(new StreamState(), POD_A, "200", host);
    dc.afterResponse(learning(), POD_B, "503", host);
    expect(host.clockReads).toBe(0);
    dc.afterResponse(learning(), POD_B, "101", host);
    expect(host.clockReads).toBe(1);
  });
  it("only strips the echo on a stream that neither pinned nor learns", () => {
    const d = decider().afterResponse(new StreamState(), POD_A, "200", AT_NOW);
    expect(d.action).toBe(ResponseAction.Strip);
    expect(d.resolution).toBeNull();
  });
  it("learns the load balancer's choice from a 101", () => {
    const dc = decider();
    const d = dc.afterResponse(learning(), POD_B, "101", AT_NOW);
    expect(d.action).toBe(ResponseAction.Learned);
    expect(d.resolution!.outcome).toBe(Outcome.Pinned);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))!.address).toBe(POD_B);
    expect(d.conflict).toBe(false);
  });
  it("reports a conflict when a racing first player of the room was recorded on another pod", () => {
    const dc = decider();
    dc.afterResponse(learning(), POD_A, "101", AT_NOW);
    const d = dc.afterResponse(learning(), POD_B, "101", AT_NOW);
    expect(d.action).toBe(ResponseAction.Learned);
    expect(d.conflict).toBe(true);
    expect(lookup(dc.table, 42, NOW_S)!.address).toBe(POD_A);
  });
  it("with a directory, leaves a new room's pod to the directory: Pending, nothing written", () => {
    const dc = settledByDirectory();
    const d = dc.afterResponse(learning(), POD_B, "101", AT_NOW);
    expect(d.action).toBe(ResponseAction.Learned);
    expect(d.resolution!.outcome).toBe(Outcome.Pending);
    expect(d.conflict).toBe(false);
    expect(lookup(dc.table, 42, NOW_S)).toBeNull();
  });
  it("with a directory, leaves a room whose pin was not honoured to the directory: Pending, the old pin stays", () => {
    const dc = settledByDirectory();
    dc.table.learn(42, NOW_S, POD_A);
    const d = dc.afterResponse(pinnedTo(POD_A), POD_B, "101", AT_NOW);
    expect(d.action).toBe(ResponseAction.Corrected);
    expect(d.resolution!.outcome).toBe(Outcome.Pending);
    expect(lookup(dc.table, 42, NOW_S)!.address).toBe(POD_A);
  });
  it("with a directory, a player that reached the room's settled pod needs nothing settled", () => {
    const dc = settledByDirectory();
    dc.table.settle(42, NOW_S, POD_B);
    const d = dc.afterResponse(learning(), POD_B, "101", AT_NOW);
    expect(d.resolution!.outcome).toBe(Outcome.Hit);
    expect(d.conflict).toBe(false);
  });
  it("with a directory, a player that reached another pod than the room's settled one is a conflict", () => {
    const dc = settledByDirectory();
    dc.table.settle(42, NOW_S, POD_A);
    expect(dc.afterResponse(learning(), POD_B, "101", AT_NOW).conflict).toBe(true);
    // The room moved (settled on POD_C) while this player's pin to POD_A was not honoured: a conflict too.
    dc.table.settle(42, NOW_S, POD_C);
    expect(dc.afterResponse(pinnedTo(POD_A), POD_B, "101", AT_NOW).conflict).toBe(true);
  });
  it("commit writes what the directory could not settle, as without one", () => {
    const dc = settledByDirectory();
    const d = dc.commit(ResponseAction.Learned, learning(), NOW_S, POD_B);
    expect(d.resolution!.outcome).toBe(Outcome.Pinned);
    expect(lookup(dc.table, 42, NOW_S)!.address).toBe(POD_B);
  });
  it("builds no pin for an upgrade the upstream refused (431) or answered without upgrading (200)", () => {
    const dc = decider();
    expect(dc.afterResponse(learning(), POD_B, "431", AT_NOW).action).toBe(ResponseAction.Strip);
    expect(dc.afterResponse(learning(), POD_B, "200", AT_NOW).action).toBe(ResponseAction.Strip);
    expect(lookup(dc.table, 42, NOW_S)).toBeNull();
  });
  it("learns a plain (non-upgrade) request's pod from a 2xx", () => {
    const dc = decider();
    const s = learning();
    s.upgrade = false;
    expect(dc.afterResponse(s, POD_B, "204", AT_NOW).action).toBe(ResponseAction.Learned);
  });
  it("builds no pin on a 5xx", () => {
    const dc = decider();
    const d = dc.afterResponse(learning(), POD_B, "503", AT_NOW);
    expect(d.action).toBe(ResponseAction.Strip);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))).toBeNull();
  });
  it("does not move a room when the unhonoured pin's upgrade failed", () => {
    const dc = decider();
    dc.table.learn(42, NOW_S, POD_A);
    expect(dc.afterResponse(pinnedTo(POD_A), POD_B, "502", AT_NOW).action).toBe(ResponseAction.Strip);
    expect(lookup(dc.table, 42, NOW_S)!.address).toBe(POD_A);
  });
  it("leaves the assumed cluster's room where it is when a pin made with it was not honoured elsewhere", () => {
    const host = new CountingFacts();
    const dc = decider();
    const home = assumingRoomOnPodA(dc, host);
    // Routed to another cluster, whose pods do not include POD_A: the gateway does not honour the pin.
    host.routedTo = "other_pods";
    const d = dc.decide(hostJoin(ROOM, host));
    expect(d.assumedCluster).toBe(true);
    expect(d.address).toBe(POD_A);
    const s = dc.streamState(d, hostJoin(ROOM, host));
    const r = dc.afterResponse(s, POD_B, "101", host);
    expect(r.action).toBe(ResponseAction.Learned);
    expect(r.conflict).toBe(false);
    expect(lookup(dc.table, home.fingerprint, NOW_S)!.address).toBe(POD_A);
    expect(s.fingerprint).toBe(decider().decide(hostJoin(ROOM, host)).fingerprint);
    expect(lookup(dc.table, s.fingerprint, NOW_S)!.address).toBe(POD_B);
    expect(readsEveryRequest(dc.routedCluster)).toBe(true);
  });
  it("moves a room pinned with the assumed cluster when the cluster read after the unhonoured pin is the same", () => {
    const host = new CountingFacts();
    const dc = decider();
    const home = assumingRoomOnPodA(dc, host);
    const d = dc.decide(hostJoin(ROOM, host));
    expect(d.assumedCluster).toBe(true);
    const r = dc.afterResponse(dc.streamState(d, hostJoin(ROOM, host)), POD_B, "101", host);
    expect(r.action).toBe(ResponseAction.Corrected);
    expect(lookup(dc.table, home.fingerprint, NOW_S)!.address).toBe(POD_B);
    expect(readsEveryRequest(dc.routedCluster)).toBe(false);
  });
  it("moves the room where the gateway sent it when the pin was not honoured", () => {
    const dc = decider();
    dc.table.learn(42, <u32>(NOW_MS / 1000), POD_A);
    const d = dc.afterResponse(pinnedTo(POD_A), POD_B, "101", AT_NOW);
    expect(d.action).toBe(ResponseAction.Corrected);
    expect(d.resolution!.outcome).toBe(Outcome.Repinned);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))!.address).toBe(POD_B);
  });
});

describe("decision labels (access logs)", () => {
  it("names each request decision", () => {
    const dc = decider('{"onMissingKey":"reject"}');
    expect(requestLabel(dc.decide(join(ROOM, false)))).toBe("passed");
    expect(requestLabel(dc.decide(join("/ws?appId=a1")))).toBe("rejected");
    const first = dc.decide(join(ROOM));
    expect(requestLabel(first)).toBe("new");
    dc.afterResponse(dc.streamState(first, join(ROOM)), POD_A, "101", AT_NOW);
    expect(requestLabel(dc.decide(join(ROOM)))).toBe("hit");
  });
  it("names what the response changed, and nothing where the request's word stands", () => {
    const dc = decider();
    expect(responseLabel(dc.afterResponse(learning(), POD_A, "101", AT_NOW))).toBe("learned");
    expect(responseLabel(dc.afterResponse(learning(), POD_B, "101", AT_NOW))).toBe("elsewhere");
    expect(responseLabel(dc.afterResponse(pinnedTo(POD_A), POD_A, null, AT_NOW))).toBe("");
    expect(responseLabel(dc.afterResponse(pinnedTo(POD_A), POD_B, "101", AT_NOW))).toBe("repinned");
  });
});
