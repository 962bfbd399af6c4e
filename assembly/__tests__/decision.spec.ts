// The request decision without a host: one case per outcome of each phase.
import { parseConfig } from "../config";
import { AffinityTable, Outcome } from "../table";
import { Membership, HOST_HEALTHY, HOST_DRAINING } from "../membership";
import {
  RequestDecider, RequestFacts, RequestAction, PassReason, ResponseAction, MembershipView, StreamState, routesOf,
  DETAILS_MISSING_KEY, DETAILS_KEY_TOO_LONG,
} from "../decision";
import { MemoryStore, lookup } from "./memory-store";

const CLUSTER = "game_pods";
const POD_A = "10.0.0.1:8080";
const POD_B = "10.0.0.2:8080";
const NOW_MS: u64 = 1_700_000_000_000;

/** Membership of CLUSTER: pod A healthy and, unless `onlyA`, pod B healthy too. */
class Pods extends MembershipView {
  members: Membership;
  asked: i32 = 0;
  constructor(onlyA: bool = false, drainingA: bool = false) {
    super();
    const m = new Membership();
    m.add(POD_A, drainingA ? HOST_DRAINING : HOST_HEALTHY);
    if (!onlyA) m.add(POD_B, HOST_HEALTHY);
    this.members = m.seal();
  }
  membersOf(cluster: string, nowMs: u64): Membership | null {
    this.asked++;
    return cluster == CLUSTER ? this.members : null;
  }
}

/** No membership known yet. */
class Unknown extends MembershipView {
  membersOf(cluster: string, nowMs: u64): Membership | null { return null; }
}

function decider(config: string = "{}"): RequestDecider {
  const c = parseConfig(Uint8Array.wrap(String.UTF8.encode(config))).config!;
  const table = new AffinityTable(new MemoryStore(), "ra", 64, 8, 3600, 10);
  return new RequestDecider(routesOf(c), table);
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
  it("passes a non-WebSocket request through untouched, without asking membership", () => {
    const pods = new Pods();
    const d = decider().decide(join(ROOM, false), pods);
    expect(d.action).toBe(RequestAction.PassThrough);
    expect(d.passReason).toBe(PassReason.NotWebSocket);
    expect(pods.asked).toBe(0);
  });
  it("passes a request without a room key through (passthrough policy)", () => {
    const d = decider().decide(join("/ws?appId=a1"), new Pods());
    expect(d.action).toBe(RequestAction.PassThrough);
    expect(d.passReason).toBe(PassReason.MissingKey);
  });
  it("rejects a request without a room key with 400 room_affinity_missing_key (reject policy)", () => {
    const d = decider("{\"onMissingKey\":\"reject\"}").decide(join("/ws?roomId=r9"), new Pods());
    expect(d.action).toBe(RequestAction.Reject);
    expect(d.status).toBe(400);
    expect(d.details).toBe(DETAILS_MISSING_KEY);
    expect(d.body).toBe("missing query parameter 'appId'\n");
  });
  it("rejects an over-long key with 400 room_affinity_key_too_long", () => {
    const d = decider("{\"maxKeyLength\":16}").decide(join("/ws?appId=a1&roomId=0123456789abcdef"), new Pods());
    expect(d.action).toBe(RequestAction.Reject);
    expect(d.details).toBe(DETAILS_KEY_TOO_LONG);
    expect(d.body).toBe("room key longer than 16 bytes\n");
  });
  it("pins a new room to a member, and the next player of the room hits the same pin", () => {
    const dc = decider();
    const first = dc.decide(join(ROOM), new Pods());
    expect(first.action).toBe(RequestAction.Pin);
    expect(first.resolution!.outcome).toBe(Outcome.Pinned);
    expect(first.address == POD_A || first.address == POD_B).toBe(true);
    const next = dc.decide(join(ROOM), new Pods());
    expect(next.resolution!.outcome).toBe(Outcome.Hit);
    expect(next.address).toBe(first.address);
    expect(dc.streamState(next).pinned).toBe(first.address);
  });
  it("re-pins a room whose pod left the cluster", () => {
    const dc = decider();
    const first = dc.decide(join(ROOM), new Pods(true));
    expect(first.address).toBe(POD_A);
    // Pod A is gone: only B is a member now.
    const gone = new Pods(false);
    gone.members = new Membership();
    gone.members.add(POD_B, HOST_HEALTHY);
    gone.members.seal();
    const again = dc.decide(join(ROOM), gone);
    expect(again.action).toBe(RequestAction.Pin);
    expect(again.resolution!.outcome).toBe(Outcome.Repinned);
    expect(again.address).toBe(POD_B);
  });
  it("keeps a room on its draining pod", () => {
    const dc = decider();
    dc.decide(join(ROOM), new Pods(true));
    const d = dc.decide(join(ROOM), new Pods(false, true));
    expect(d.resolution!.outcome).toBe(Outcome.Hit);
    expect(d.address).toBe(POD_A);
  });
  it("learns when no membership is known: the load balancer picks, the stream remembers to learn", () => {
    const dc = decider();
    const d = dc.decide(join(ROOM), new Unknown());
    expect(d.action).toBe(RequestAction.Learn);
    const s = dc.streamState(d);
    expect(s.learning).toBe(true);
    expect(s.pinned).toBe("");
  });
  it("keys rooms per routed cluster: the same room on two clusters is two rooms", () => {
    const dc = decider();
    const a = dc.decide(join(ROOM), new Pods());
    const f = join(ROOM);
    f.cluster = "other_pods";
    const b = dc.decide(f, new Pods());
    expect(a.fingerprint == b.fingerprint).toBe(false);
  });
  it("applies the first matching _rules_ entry: its key params, its missing-key policy", () => {
    const dc = decider("{\"_rules_\":[{\"_match_domain_\":[\"*.wx.game.local\"],\"keyParams\":[\"threadId\"],\"onMissingKey\":\"reject\"}]}");
    expect(dc.needsRouteFacts).toBe(true);
    const wx = dc.decide(join("/ws?threadId=7", true, "h5.wx.game.local"), new Pods());
    expect(wx.action).toBe(RequestAction.Pin);
    const wxNoKey = dc.decide(join(ROOM, true, "h5.wx.game.local"), new Pods());
    expect(wxNoKey.action).toBe(RequestAction.Reject);
    const other = dc.decide(join("/ws?threadId=7", true, "game.example.com"), new Pods());
    expect(other.passReason).toBe(PassReason.MissingKey);
  });
});

/** A stream of room 42 that found no pod and waits to learn the load balancer's choice. */
function learning(): StreamState {
  const s = new StreamState();
  s.fingerprint = 42;
  s.learning = true;
  return s;
}

function pinnedTo(address: string): StreamState {
  const s = new StreamState();
  s.fingerprint = 42;
  s.pinned = address;
  return s;
}

describe("response decision", () => {
  it("does nothing when the pin was honoured", () => {
    const d = decider().afterResponse(pinnedTo(POD_A), POD_A, null, NOW_MS);
    expect(d.action).toBe(ResponseAction.None);
  });
  it("only strips the echo on a stream that neither pinned nor learns", () => {
    const d = decider().afterResponse(new StreamState(), POD_A, "200", NOW_MS);
    expect(d.action).toBe(ResponseAction.Strip);
    expect(d.resolution).toBeNull();
  });
  it("learns the load balancer's choice from a 101", () => {
    const dc = decider();
    const d = dc.afterResponse(learning(), POD_B, "101", NOW_MS);
    expect(d.action).toBe(ResponseAction.Learned);
    expect(d.resolution!.outcome).toBe(Outcome.Pinned);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))!.address).toBe(POD_B);
  });
  it("builds no pin on a 5xx", () => {
    const dc = decider();
    const d = dc.afterResponse(learning(), POD_B, "503", NOW_MS);
    expect(d.action).toBe(ResponseAction.Strip);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))).toBeNull();
  });
  it("moves the room where the gateway sent it when the pin was not honoured", () => {
    const dc = decider();
    dc.table.learn(42, <u32>(NOW_MS / 1000), POD_A);
    const d = dc.afterResponse(pinnedTo(POD_A), POD_B, "101", NOW_MS);
    expect(d.action).toBe(ResponseAction.Corrected);
    expect(d.resolution!.outcome).toBe(Outcome.Repinned);
    expect(lookup(dc.table, 42, <u32>(NOW_MS / 1000))!.address).toBe(POD_B);
  });
});
