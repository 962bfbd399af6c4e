// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The history of table geometries: a new capacity, bucketSize or sharedDataPrefix reads through to
// the tables it replaced until their entries have expired.
import { MemoryStore } from "./memory-store";
import { AffinityTable } from "../table/table";
import { recordGeometry, encodeHistory, decodeHistory, Geometry, MAX_REMEMBERED } from "../table/history";

const HISTORY_KEY = "room-affinity:tables:test";
const TTL: u32 = 3600;
const NOW: u32 = 1_700_000_000;
const POD = "10.0.0.1:8080";

function table(store: MemoryStore, prefix: string, capacity: i32, bucketSize: i32 = 8): AffinityTable {
  return new AffinityTable(store, prefix, capacity, bucketSize, TTL, 10);
}

describe("table history", () => {
  it("has nothing to read through on the first configuration", () => {
    const store = new MemoryStore();
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra", 64), NOW)).toBeNull();
  });
  it("reads the previous table after a capacity change, and finds its rooms", () => {
    const store = new MemoryStore();
    const before = table(store, "ra", 64);
    recordGeometry(store, HISTORY_KEY, before, NOW);
    before.learn(77, NOW, POD);
    const h = recordGeometry(store, HISTORY_KEY, table(store, "ra", 4096), NOW + 5)!;
    expect(h.tables.length).toBe(1);
    expect(h.find(77, NOW + 6)).toBe(POD);
    expect(h.find(78, NOW + 6)).toBe("");
  });
  it("reads the previous table after a sharedDataPrefix change", () => {
    const store = new MemoryStore();
    const before = table(store, "ra", 64);
    recordGeometry(store, HISTORY_KEY, before, NOW);
    before.learn(77, NOW, POD);
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra2", 64), NOW)!.find(77, NOW)).toBe(POD);
  });
  it("changes nothing when the same geometry is configured again (a reload, another thread)", () => {
    const store = new MemoryStore();
    recordGeometry(store, HISTORY_KEY, table(store, "ra", 64), NOW);
    const writes = store.writes;
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra", 64), NOW + 9)).toBeNull();
    expect(store.writes).toBe(writes);
  });
  it("forgets a previous table once entryTtlSeconds have passed since it was replaced", () => {
    const store = new MemoryStore();
    recordGeometry(store, HISTORY_KEY, table(store, "ra", 64), NOW);
    recordGeometry(store, HISTORY_KEY, table(store, "ra", 128), NOW);
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra", 128), NOW + TTL - 1)).not.toBeNull();
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra", 128), NOW + TTL)).toBeNull();
  });
  it("going back to an older geometry makes it the table in force again, reading the one in between", () => {
    const store = new MemoryStore();
    const a = table(store, "ra", 64);
    recordGeometry(store, HISTORY_KEY, a, NOW);
    const b = table(store, "ra", 128);
    recordGeometry(store, HISTORY_KEY, b, NOW + 1);
    b.learn(5, NOW + 1, POD);
    const h = recordGeometry(store, HISTORY_KEY, table(store, "ra", 64), NOW + 2)!;
    expect(h.tables.length).toBe(1);
    expect(h.tables[0].capacity).toBe(128);
    expect(h.find(5, NOW + 2)).toBe(POD);
  });
  it("never remembers more than MAX_REMEMBERED tables", () => {
    const store = new MemoryStore();
    for (let i = 1; i <= 10; i++) recordGeometry(store, HISTORY_KEY, table(store, "ra", 64 * i), NOW + <u32>i);
    expect(decodeHistory(store.get(HISTORY_KEY).value).length).toBe(MAX_REMEMBERED);
  });
  it("a capacity change that keeps the bucket count reads nothing twice (same keys)", () => {
    const store = new MemoryStore();
    recordGeometry(store, HISTORY_KEY, table(store, "ra", 64, 8), NOW);
    // 64/8 and 60/8 both make 8 buckets: one table.
    expect(recordGeometry(store, HISTORY_KEY, table(store, "ra", 60, 8), NOW + 1)).toBeNull();
  });
});

describe("history codec", () => {
  it("round-trips", () => {
    const list = [new Geometry("ra", 64, 8, 0), new Geometry("old-prefix", 1000, 4, 1234)];
    const back = decodeHistory(encodeHistory(list));
    expect(back.length).toBe(2);
    expect(back[1].prefix).toBe("old-prefix");
    expect(back[1].supersededAt).toBe(1234);
  });
  it("decodes garbage as an empty history, never traps", () => {
    const bad = ["", "h2\nra 1 1 0\n", "h1\nra x 1 0\n", "h1\nra 1 1\n", "h1\n 1 1 0\n", "h1\nra 0 8 0\n", "h1\nra 1 1 99999999999\n"];
    for (let i = 0; i < bad.length; i++) {
      expect(decodeHistory(Uint8Array.wrap(String.UTF8.encode(bad[i]))).length).toBe(0);
    }
  });
});
