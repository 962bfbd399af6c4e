// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { Sweeper, PresentHosts } from "../table/sweeper";
import { FailedPods } from "../table/failed-pods";
import { AffinityTable } from "../table/table";
import { decodeBucket } from "../table/bucket";
import { MemoryStore } from "./memory-store";
import { PinEveryRoomTo } from "./helpers";

function fp(i: i32): u64 {
  return <u64>(i + 1) * 0x9e3779b97f4a7c15;
}

function fill(t: AffinityTable, n: i32, now: u32): void {
  for (let i = 0; i < n; i++) t.resolve(fp(i), now, new PinEveryRoomTo(i % 2 == 0 ? "A:1" : "B:1"));
}

function hosts(addresses: string[]): PresentHosts {
  const present = new PresentHosts();
  for (let i = 0; i < addresses.length; i++) present.add(addresses[i]);
  return present;
}

/** 100 rooms seen at second 100, half on A:1 and half on B:1, in a table of 64 buckets. */
function hundredRooms(s: MemoryStore): AffinityTable {
  const t = new AffinityTable(s, "ra", 256, 4, 1000, 10);
  fill(t, 100, 100);
  return t;
}

function count(s: MemoryStore, t: AffinityTable, addr: string): i32 {
  let n = 0;
  for (let b = 0; b < t.bucketCount; b++) {
    const e = decodeBucket(s.get(t.bucketKey(b)).value);
    if (e == null) continue;
    for (let i = 0; i < e.length; i++) if (addr.length == 0 || e[i].address == addr) n++;
  }
  return n;
}

describe("sweeper", () => {
  it("sweeps a small window in steady state, and the whole table within two passes after a pod leaves", () => {
    const s = new MemoryStore();
    const t = hundredRooms(s);
    const both = hosts(["A:1", "B:1"]);
    const onlyA = hosts(["A:1"]);
    const sw = new Sweeper(t, 4);
    expect(sw.pass(101, both).bucketsVisited).toBe(4);
    expect(sw.pass(102, both).bucketsVisited).toBe(4);
    const r1 = sw.pass(103, onlyA); // B left: urgent cycle
    const r2 = sw.pass(104, onlyA);
    expect(r1.bucketsVisited).toBe(32);
    expect(r2.bucketsVisited).toBe(32);
    expect(r1.evictedGone + r2.evictedGone).toBe(50);
    expect(count(s, t, "B:1")).toBe(0);
    expect(sw.pass(105, onlyA).bucketsVisited).toBe(4); // back to steady state
  });
  it("evicts entries of pods that left, within ceil(buckets / window) passes", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 64, 4, 1000, 10); // 16 buckets
    fill(t, 40, 100);
    expect(count(s, t, "B:1")).toBe(20);
    const present = new PresentHosts();
    present.add("A:1");
    const sw = new Sweeper(t, 8);
    const r1 = sw.pass(101, present);
    expect(r1.bucketsVisited).toBe(8);
    expect(r1.cycleEntries).toBe(-1);
    const r2 = sw.pass(102, present);
    expect(r1.evictedGone + r2.evictedGone).toBe(20);
    expect(count(s, t, "B:1")).toBe(0);
    expect(count(s, t, "A:1")).toBe(20);
    expect(r2.cycleEntries).toBe(20);
  });
  it("drops pins to a pod that failed a join, seen no later than the failure, within two urgent passes", () => {
    const s = new MemoryStore();
    const t = hundredRooms(s);
    const both = hosts(["A:1", "B:1"]);
    const failedB = new FailedPods();
    failedB.add("B:1", 100);
    const sw = new Sweeper(t, 4);
    const r1 = sw.pass(101, both, failedB);
    const r2 = sw.pass(102, both, failedB);
    expect(r1.bucketsVisited).toBe(32);
    expect(r1.evictedStale + r2.evictedStale).toBe(50);
    expect(r1.evictedGone + r2.evictedGone).toBe(0);
    expect(count(s, t, "B:1")).toBe(0);
    expect(count(s, t, "A:1")).toBe(50);
    expect(sw.pass(103, both, failedB).bucketsVisited).toBe(4); // the same failure starts no new cycle
  });
  it("starts a new urgent cycle for a failure another replica shared, dated before the latest one seen", () => {
    const s = new MemoryStore();
    const t = hundredRooms(s); // every pin seen at 100
    const both = hosts(["A:1", "B:1"]);
    const failedB = new FailedPods();
    failedB.add("B:1", 102);
    const sw = new Sweeper(t, 4);
    sw.pass(103, both, failedB);
    sw.pass(104, both, failedB);
    const bothFailed = new FailedPods();
    bothFailed.add("B:1", 102);
    bothFailed.add("A:1", 101); // learned later, from the directory, with the time it failed there
    expect(sw.pass(105, both, bothFailed).bucketsVisited).toBe(32);
    sw.pass(106, both, bothFailed);
    expect(count(s, t, "A:1")).toBe(0);
  });
  it("starts an urgent cycle when a pod comes back to the list with the failure it left with (the check passes it again)", () => {
    const s = new MemoryStore();
    const t = hundredRooms(s); // every pin seen at 100
    const both = hosts(["A:1", "B:1"]);
    const failedB = new FailedPods();
    failedB.add("B:1", 101);
    const sw = new Sweeper(t, 4);
    sw.pass(102, both, null); // B fails its checks: left out of the list, its pins stay for joins to skip
    sw.pass(103, both, null);
    expect(count(s, t, "B:1")).toBe(50);
    expect(sw.pass(104, both, failedB).bucketsVisited).toBe(32);
    sw.pass(105, both, failedB);
    expect(count(s, t, "B:1")).toBe(0);
  });
  it("keeps pins to a failed pod written after the failure (the pod is back)", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 256, 4, 1000, 10);
    fill(t, 100, 105); // every pin seen at 105
    const failedB = new FailedPods();
    failedB.add("B:1", 104);
    const sw = new Sweeper(t, 64);
    expect(sw.pass(106, null, failedB).evictedStale).toBe(0);
    expect(count(s, t, "B:1")).toBe(50);
  });
  it("evicts expired entries even when membership is unknown, and nothing else", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 64, 4, 100, 10);
    fill(t, 10, 100);
    for (let i = 10; i < 20; i++) t.resolve(fp(i), 150, new PinEveryRoomTo("C:1"));
    const sw = new Sweeper(t, 16);
    const r = sw.pass(201, null); // 101 s after the first ten: expired; the others are 51 s old
    expect(r.evictedExpired).toBe(10);
    expect(r.evictedGone).toBe(0);
    expect(count(s, t, "")).toBe(10);
    expect(r.cycleEntries).toBe(10);
  });
  it("wraps around and keeps counting per cycle", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 12, 4, 1000, 10); // 3 buckets
    fill(t, 6, 100);
    const sw = new Sweeper(t, 2);
    sw.pass(100, null);
    const r = sw.pass(100, null); // visits bucket 2, then wraps to 0
    expect(r.cycleEntries).toBe(count(s, t, ""));
    expect(sw.cursor).toBe(1);
  });
  it("visits every bucket once per cycle even if the window exceeds the table", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 8, 4, 1000, 10);
    const r = new Sweeper(t, 100).pass(1, null);
    expect(r.bucketsVisited).toBe(2);
  });
  it("retires every worker's copy of a bucket it evicts from", () => {
    const s = new MemoryStore();
    const worker = new AffinityTable(s, "ra", 64, 4, 1000, 10, 16); // 16 buckets, copies on
    fill(worker, 10, 100);
    for (let i = 0; i < 10; i++) worker.find(fp(i), 101); // every bucket read since its last write: copies held
    const onlyA = new PresentHosts();
    onlyA.add("A:1");
    new Sweeper(new AffinityTable(s, "ra", 64, 4, 1000, 10), 16).pass(102, onlyA); // another worker's sweep: B left
    let pinnedToB = 0;
    for (let i = 0; i < 10; i++) if (worker.find(fp(i), 103).address == "B:1") pinnedToB++;
    expect(pinnedToB).toBe(0);
  });
});
