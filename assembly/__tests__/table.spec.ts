// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { AffinityTable, Outcome, MAX_CAS_ATTEMPTS } from "../table/table";
import { decodeBucket } from "../table/bucket";
import { PinPolicy } from "../table/placement";
import { noHook, MemoryStore, lookup } from "./memory-store";

/** Members A, B, C usable; new rooms go to `target`. */
class Fixed extends PinPolicy {
  places: i32 = 0;
  constructor(
    public target: string,
    public gone: string = "",
  ) {
    super();
  }
  keepsPin(address: string): bool {
    return address != this.gone;
  }
  place(fp: u64): string {
    this.places++;
    return this.target;
  }
}

function newTable(store: MemoryStore, buckets: i32 = 4, size: i32 = 3): AffinityTable {
  return new AffinityTable(store, "ra", buckets * size, size, 100, 10);
}

// A racing writer (another worker thread): pins fingerprint RACE_FP to RACE_ADDR just before our write.
const RACE_FP: u64 = 0x1234_0000_0000_0001;
let raceAddr = "10.0.0.9:80";
function racer(store: MemoryStore, key: string): void {
  const t = new AffinityTable(store, "ra", 12, 3, 100, 10);
  t.resolve(RACE_FP, 1000, new Fixed(raceAddr));
}
// Two first players of one room: the first one's response pins FIRST_PLAYERS_FP to FIRST_PLAYER_POD.
const FIRST_PLAYERS_FP: u64 = 0x0000_0003_0000_0007;
const FIRST_PLAYER_POD = "10.0.0.1:80";
function firstPlayerPinned(store: MemoryStore, key: string): void {
  newTable(store).learn(FIRST_PLAYERS_FP, 1000, FIRST_PLAYER_POD);
}
function endlessRacer(store: MemoryStore, key: string): void {
  // Touches the bucket on every write attempt, so our CAS never succeeds.
  const sv = store.get(key);
  store.values.set(key, sv.value!);
  store.tokens.set(key, store.nextCas++);
  store.beforeSet = endlessRacer;
}

describe("affinity table", () => {
  it("pins a new room, then hits", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    const r1 = t.resolve(42, 1000, new Fixed("A"));
    expect(r1.outcome).toBe(Outcome.Pinned);
    expect(r1.address).toBe("A");
    const r2 = t.resolve(42, 1001, new Fixed("B"));
    expect(r2.outcome).toBe(Outcome.Hit);
    expect(r2.address).toBe("A");
  });
  it("keys buckets by geometry, so a different bucket count starts a fresh table", () => {
    const s = new MemoryStore();
    newTable(s, 4).resolve(42, 1000, new Fixed("A"));
    expect(newTable(s, 8).resolve(42, 1000, new Fixed("B")).address).toBe("B");
  });
  it("re-pins a room whose pod is gone", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(42, 1000, new Fixed("A"));
    const r = t.resolve(42, 1001, new Fixed("B", "A"));
    expect(r.outcome).toBe(Outcome.Repinned);
    expect(r.address).toBe("B");
    expect(lookup(t, 42, 1002)!.address).toBe("B");
  });
  it("settles a room where the directory holds it, whatever the table held", () => {
    const t = newTable(new MemoryStore());
    expect(t.settle(42, 1000, "A").outcome).toBe(Outcome.Pinned);
    expect(t.settle(42, 1001, "A").outcome).toBe(Outcome.Hit);
    const moved = t.settle(42, 1002, "B");
    expect(moved.outcome).toBe(Outcome.Repinned);
    expect(lookup(t, 42, 1003)!.address).toBe("B");
  });
  it("refreshes lastSeen on hits only after refreshSeconds", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(42, 1000, new Fixed("A"));
    const key = t.bucketKey(t.bucketOf(42));
    const writes = s.writesOf(key);
    t.resolve(42, 1005, new Fixed("A"));
    expect(s.writesOf(key)).toBe(writes);
    t.resolve(42, 1010, new Fixed("A"));
    expect(s.writesOf(key)).toBe(writes + 1);
    expect(lookup(t, 42, 1010)!.lastSeen).toBe(1010);
  });
  it("pins a new room's second first player to the first one's pod, when the first is pinned while the second writes", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    // Both players' request phases look the room up before either response arrives.
    expect(t.find(FIRST_PLAYERS_FP, 1000).outcome).toBe(Outcome.NoPlacement);
    expect(t.find(FIRST_PLAYERS_FP, 1000).outcome).toBe(Outcome.NoPlacement);
    s.beforeSet = firstPlayerPinned; // the first player's response lands during the second's write
    const second = t.learn(FIRST_PLAYERS_FP, 1000, "10.0.0.2:80");
    expect(second.outcome).toBe(Outcome.Hit);
    expect(second.address).toBe(FIRST_PLAYER_POD);
  });
  it("expires entries after the TTL", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(42, 1000, new Fixed("A"));
    expect(lookup(t, 42, 1100)).not.toBeNull();
    expect(lookup(t, 42, 1101)).toBeNull();
    const r = t.resolve(42, 1101, new Fixed("B"));
    expect(r.outcome).toBe(Outcome.Pinned); // an expired pin is a new room, not a re-pin
    expect(r.address).toBe("B");
  });
  it("drops expired entries and evicts the least recently seen when a bucket is full", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 3, 3, 100, 1);
    t.resolve(1, 1000, new Fixed("A"));
    t.resolve(2, 1010, new Fixed("A"));
    t.resolve(3, 1020, new Fixed("A"));
    t.resolve(1, 1030, new Fixed("A")); // touch 1: now 2 is the oldest
    const r = t.resolve(4, 1040, new Fixed("A"));
    expect(r.evictedForCapacity).toBe(1);
    expect(lookup(t, 2, 1040)).toBeNull();
    expect(lookup(t, 1, 1040)).not.toBeNull();
    expect(decodeBucket(s.get(t.bucketKey(0)).value)!.length).toBe(3);
    // 100 s later, 3 (seen at 1020) has expired and makes room without a capacity eviction
    const r2 = t.resolve(5, 1121, new Fixed("A"));
    expect(r2.evictedExpired).toBe(1);
    expect(r2.evictedForCapacity).toBe(0);
  });
  it("never holds more than capacity entries, even when capacity is not a multiple of bucketSize", () => {
    const s = new MemoryStore();
    const t = new AffinityTable(s, "ra", 10, 4, 100, 10); // buckets of 4, 4 and 2
    expect(t.bucketCount).toBe(3);
    expect(t.limitOf(2)).toBe(2);
    for (let i: u64 = 0; i < 300; i++) t.resolve(i * 0x9e3779b97f4a7c15, 1000, new Fixed("A"));
    let total = 0;
    for (let b = 0; b < 3; b++) total += decodeBucket(s.get(t.bucketKey(b)).value)!.length;
    expect(total).toBe(10);
  });
  it("never holds more than bucketSize entries per bucket", () => {
    const s = new MemoryStore();
    const t = newTable(s, 4, 3);
    for (let i: u64 = 0; i < 500; i++) t.resolve(i * 0x9e3779b97f4a7c15, 1000, new Fixed("A"));
    let total = 0;
    for (let b = 0; b < 4; b++) {
      const n = decodeBucket(s.get(t.bucketKey(b)).value)!.length;
      expect(n).toBeLessThanOrEqual(3);
      total += n;
    }
    expect(total).toBe(12);
  });
  it("follows the winner when another writer pins the same room first (CAS mismatch)", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(RACE_FP + 1, 1000, new Fixed("X")); // bucket exists
    raceAddr = "WINNER";
    s.beforeSet = racer; // the racer pins RACE_FP between our read and our write
    const r = t.resolve(RACE_FP, 1000, new Fixed("LOSER"));
    expect(r.outcome).toBe(Outcome.Hit);
    expect(r.address).toBe("WINNER");
    expect(r.casRetries).toBe(1); // our write lost once, the re-read found the winner
  });
  it("keeps other rooms' entries when a racing write to the same bucket lands first", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(RACE_FP + 1, 1000, new Fixed("X"));
    raceAddr = "R";
    s.beforeSet = racer;
    // A different room in the same bucket (same high 32 bits): our first CAS fails, the retry keeps R.
    const other: u64 = RACE_FP + 2;
    const r = t.resolve(other, 1000, new Fixed("O"));
    expect(r.outcome).toBe(Outcome.Pinned);
    expect(r.casRetries).toBe(1);
    expect(lookup(t, RACE_FP, 1000)!.address).toBe("R");
    expect(lookup(t, other, 1000)!.address).toBe("O");
    expect(lookup(t, RACE_FP + 1, 1000)!.address).toBe("X");
  });
  it("gives up after bounded CAS attempts and routes unpinned", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(5, 1000, new Fixed("X"));
    s.beforeSet = endlessRacer;
    const r = t.resolve(6, 1000, new Fixed("P"));
    s.beforeSet = noHook;
    expect(r.outcome).toBe(Outcome.Contended);
    expect(r.address).toBe("P");
    expect(r.casRetries).toBe(MAX_CAS_ATTEMPTS);
  });
  it("rewrites a corrupt bucket instead of failing", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    const garbage = new Uint8Array(5);
    garbage[0] = 0xee;
    s.set(t.bucketKey(t.bucketOf(42)), garbage, 0);
    const r = t.resolve(42, 1000, new Fixed("A"));
    expect(r.outcome).toBe(Outcome.Pinned);
    expect(lookup(t, 42, 1000)!.address).toBe("A");
  });
  it("reports no placement without writing when nothing can be chosen", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    const r = t.resolve(42, 1000, new Fixed(""));
    expect(r.outcome).toBe(Outcome.NoPlacement);
    expect(lookup(t, 42, 1000)).toBeNull();
  });
  it("correct: moves a pin the gateway did not honour, unless another request moved it first", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    t.resolve(42, 1000, new Fixed("A"));
    const r = t.correct(42, 1001, "A", "B");
    expect(r.outcome).toBe(Outcome.Repinned);
    expect(lookup(t, 42, 1001)!.address).toBe("B");
    // a late correction from another request that also saw A fail follows B instead of flapping
    const r2 = t.correct(42, 1002, "A", "C");
    expect(r2.outcome).toBe(Outcome.Hit);
    expect(r2.address).toBe("B");
  });
  it("learn: first writer wins, later learners follow it", () => {
    const s = new MemoryStore();
    const t = newTable(s);
    expect(t.learn(42, 1000, "A").outcome).toBe(Outcome.Pinned);
    const r = t.learn(42, 1000, "B");
    expect(r.outcome).toBe(Outcome.Hit);
    expect(r.address).toBe("A");
  });
});
