// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A join is not pinned to a pod the gateway's health check began failing since its room was last joined.
import { parseConfig } from "../config/config";
import { AffinityTable, Outcome, Resolution } from "../table/table";
import { FailedPods, DownPods } from "../table/failed-pods";
import { RequestDecider, RequestFacts, RequestAction, requestLabel, routesOf } from "../request/decision";
import { Membership, HOST_HEALTHY, HOST_FAILING } from "../membership/membership";
import { SnapshotStore } from "../membership/snapshots";
import { HealthCheckDownPods, CONFIRMED_AFTER_MS } from "../membership/down-pods";
import { MemoryStore, lookup } from "./memory-store";
import { FixedFacts } from "./helpers";

const POD_A = "10.0.9.1:80";
const POD_B = "10.0.9.2:80";
const ROOM_FP: u64 = 0x77;
/** The second the rooms of these tests were last joined. */
const JOINED_AT: u32 = 1000;
/** When the snapshots of the last tests first showed POD_A failing. */
const FAILED_AT_MS: u64 = 1_400_000;

function table(store: MemoryStore): AffinityTable {
  return new AffinityTable(store, "ra", 64, 8, 3600, 10);
}

function downSince(address: string, atSec: u32): FailedPods {
  const f = new FailedPods();
  f.add(address, atSec);
  return f;
}

function membersWith(a: u8, b: u8): Membership {
  const m = new Membership();
  m.add(POD_A, a);
  m.add(POD_B, b);
  return m;
}

class FixedDownPods extends DownPods {
  constructor(private readonly pods: FailedPods | null) {
    super();
  }
  current(nowMs: u64): FailedPods | null {
    return this.pods;
  }
}

describe("table: a pin to a pod that went down", () => {
  it("is a hit marked podDown, with lastSeen left as it was, when the room was last joined before the failure", () => {
    const t = table(new MemoryStore());
    t.learn(ROOM_FP, JOINED_AT, POD_A);
    const r = t.find(ROOM_FP, JOINED_AT + 500, new Resolution(), downSince(POD_A, JOINED_AT + 400));
    expect(r.outcome).toBe(Outcome.Hit);
    expect(r.address).toBe(POD_A);
    expect(r.podDown).toBe(true);
    expect(r.refreshed).toBe(false);
    expect(lookup(t, ROOM_FP, JOINED_AT + 500)!.lastSeen).toBe(
      JOINED_AT,
      "lastSeen refreshed: the room's next player would be pinned to the dead pod",
    );
  });
  it("is an ordinary hit when the room was joined in the failure's second or later (the pod may be back)", () => {
    const t = table(new MemoryStore());
    t.learn(ROOM_FP, JOINED_AT, POD_A);
    expect(t.find(ROOM_FP, JOINED_AT + 1, new Resolution(), downSince(POD_A, JOINED_AT)).podDown).toBe(false);
    expect(t.find(ROOM_FP, JOINED_AT + 1, new Resolution(), downSince(POD_A, JOINED_AT - 1)).podDown).toBe(false);
  });
  it("is an ordinary hit when another pod is down", () => {
    const t = table(new MemoryStore());
    t.learn(ROOM_FP, JOINED_AT, POD_A);
    expect(t.find(ROOM_FP, JOINED_AT + 500, new Resolution(), downSince(POD_B, JOINED_AT + 400)).podDown).toBe(false);
  });
});

function deciderWithDown(down: FailedPods | null): RequestDecider {
  const c = parseConfig(Uint8Array.wrap(String.UTF8.encode("{}"))).config!;
  return new RequestDecider(routesOf(c), table(new MemoryStore()), null, 0, false, new FixedDownPods(down));
}
function joinAt(nowSec: u32): RequestFacts {
  const f = new RequestFacts();
  f.path = Uint8Array.wrap(String.UTF8.encode("/ws?appId=a1&roomId=r9"));
  f.isWebSocket = true;
  f.cluster = "game";
  f.nowMs = <u64>nowSec * 1000;
  return f;
}

describe("decider: a join whose pod went down", () => {
  it("keeps the pod as the stream's pin, so the 101 moves the room off it, and says why in the access log", () => {
    const dc = deciderWithDown(downSince(POD_A, JOINED_AT + 400));
    const first = dc.decide(joinAt(JOINED_AT));
    dc.afterResponse(dc.streamState(first, joinAt(JOINED_AT)), POD_A, "101", new FixedFacts("game", <u64>JOINED_AT * 1000));
    const later = joinAt(JOINED_AT + 500);
    const d = dc.decide(later);
    expect(d.action).toBe(RequestAction.Pin);
    expect(d.podDown).toBe(true);
    expect(requestLabel(d)).toBe("pod_down");
    const s = dc.streamState(d, later);
    expect(s.pinned).toBe(POD_A);
    const r = dc.afterResponse(s, POD_B, "101", new FixedFacts("game", <u64>(JOINED_AT + 500) * 1000));
    expect(r.resolution!.address).toBe(POD_B, "the room did not move to where the join went");
  });
});

/** Published healthy, then with POD_A failing from the read at FAILED_AT_MS on. */
function failingSince(): SnapshotStore {
  const snapshots = new SnapshotStore(new MemoryStore(), "ra");
  snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), 1_000_000);
  snapshots.publish("game", membersWith(HOST_FAILING, HOST_HEALTHY), FAILED_AT_MS);
  return snapshots;
}

/** The membership read again at `atMs`, POD_A still failing. */
function readAgain(snapshots: SnapshotStore, atMs: u64): void {
  snapshots.publish("game", membersWith(HOST_FAILING, HOST_HEALTHY), atMs);
}

describe("down pods: what a worker reads", () => {
  it("lists a pod the check still fails a read later, dated by its failure", () => {
    const snapshots = failingSince();
    expect(new HealthCheckDownPods(snapshots).current(FAILED_AT_MS)).toBeNull("a pod that stalls for a moment keeps its rooms");
    readAgain(snapshots, FAILED_AT_MS + 1000);
    const down = new HealthCheckDownPods(snapshots).current(FAILED_AT_MS + 1000);
    expect(down).not.toBeNull();
    expect(down!.size).toBe(1);
    expect(down!.stale(POD_A, 1_399)).toBe(true);
    expect(down!.stale(POD_A, 1_401)).toBe(false);
  });
  it("waits for a read CONFIRMED_AFTER_MS after the first that showed the failure", () => {
    const snapshots = failingSince();
    readAgain(snapshots, FAILED_AT_MS + CONFIRMED_AFTER_MS - 1);
    expect(new HealthCheckDownPods(snapshots).current(FAILED_AT_MS + 5000)).toBeNull();
  });
  it("counts from the reads, not from the failure list, whose time moves with every join that fails over", () => {
    const snapshots = failingSince();
    snapshots.recordFailure(POD_A, FAILED_AT_MS + 900);
    readAgain(snapshots, FAILED_AT_MS + 1000);
    const down = new HealthCheckDownPods(snapshots).current(FAILED_AT_MS + 1000);
    expect(down).not.toBeNull();
    expect(down!.stale(POD_A, 1_400)).toBe(true, "dated by the latest failure");
  });
  it("starts over once the check passes the pod again", () => {
    const snapshots = failingSince();
    snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), FAILED_AT_MS + 1000);
    readAgain(snapshots, FAILED_AT_MS + 2000);
    const worker = new HealthCheckDownPods(snapshots);
    expect(worker.current(FAILED_AT_MS + 2000)).toBeNull("failing again: a new first read");
    readAgain(snapshots, FAILED_AT_MS + 3000);
    expect(worker.current(FAILED_AT_MS + 3000)).not.toBeNull();
  });
  it("does not list the pods of a cluster the check fails entirely (the joins would have nowhere to go)", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), 1_000_000);
    snapshots.publish("game", membersWith(HOST_FAILING, HOST_FAILING), FAILED_AT_MS);
    snapshots.publish("game", membersWith(HOST_FAILING, HOST_FAILING), FAILED_AT_MS + 1000);
    expect(snapshots.failures().length).toBe(2);
    expect(new HealthCheckDownPods(snapshots).current(FAILED_AT_MS + 1000)).toBeNull();
  });
  it("gives the sweep every pod the check fails now, from the first read, while joins reuse a view for a quarter second", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), 1_000_000);
    const worker = new HealthCheckDownPods(snapshots);
    expect(worker.current(FAILED_AT_MS - 100)).toBeNull();
    snapshots.publish("game", membersWith(HOST_FAILING, HOST_HEALTHY), FAILED_AT_MS);
    expect(worker.failingNow(snapshots.failures())).not.toBeNull("the sweep would drop the pins joins are to skip");
    readAgain(snapshots, FAILED_AT_MS + 1000);
    expect(worker.current(FAILED_AT_MS + 100)).toBeNull("a join's view is reused for 250 ms");
    expect(worker.current(FAILED_AT_MS + 1000)).not.toBeNull();
  });
  it("does not list a pod that failed a join over while the check passes it", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), 1_000_000);
    snapshots.recordFailure(POD_A, FAILED_AT_MS);
    snapshots.publish("game", membersWith(HOST_HEALTHY, HOST_HEALTHY), FAILED_AT_MS + 1000);
    expect(new HealthCheckDownPods(snapshots).current(FAILED_AT_MS + 1000)).toBeNull();
    expect(new HealthCheckDownPods(snapshots).failingNow(snapshots.failures())).toBeNull();
  });
});
