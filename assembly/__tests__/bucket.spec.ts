// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { Entry, encodeBucket, decodeBucket, findEntry, BucketCursor, isExpired, bucketCountFor } from "../table/bucket";

/** A two-entry bucket: fingerprints 1 and max, an IPv4 and an IPv6 address. */
function TWO_ENTRIES(): Entry[] {
  return [new Entry(1, 2, "127.0.0.1:18001"), new Entry(0xffffffffffffffff, 0xfffffffe, "[::1]:80")];
}

describe("bucket codec", () => {
  it("round-trips entries", () => {
    const d = decodeBucket(encodeBucket(TWO_ENTRIES()))!;
    expect(d.length).toBe(2);
    expect(d[1].fingerprint).toBe(0xffffffffffffffff);
    expect(d[1].lastSeen).toBe(0xfffffffe);
    expect(d[1].address).toBe("[::1]:80");
    expect(encodeBucket(TWO_ENTRIES()).length).toBe(2 + 13 + 15 + 13 + 8);
  });
  it("treats missing or empty values as empty buckets", () => {
    expect(decodeBucket(null)!.length).toBe(0);
    expect(decodeBucket(new Uint8Array(0))!.length).toBe(0);
    expect(decodeBucket(encodeBucket([]))!.length).toBe(0);
  });
  it("rejects corrupt bytes instead of trapping", () => {
    const good = encodeBucket([new Entry(7, 1, "1.2.3.4:5")]);
    expect(decodeBucket(good.subarray(0, good.length - 1))).toBeNull();
    const bad = new Uint8Array(3);
    bad[0] = 9;
    expect(decodeBucket(bad)).toBeNull();
    const extra = new Uint8Array(good.length + 1);
    extra.set(good);
    expect(decodeBucket(extra)).toBeNull();
    const emptyWithTail = new Uint8Array(3);
    emptyWithTail[0] = 1;
    expect(decodeBucket(emptyWithTail)).toBeNull();
  });
  it("never reads past the end: every truncation of a valid bucket is invalid", () => {
    const good = encodeBucket(TWO_ENTRIES());
    for (let n = 1; n < good.length; n++) {
      expect(decodeBucket(good.slice(0, n))).toBeNull();
      const c = new BucketCursor(good.slice(0, n));
      while (c.next()) {
        /* walks only whole entries */
      }
      expect(c.valid).toBe(false);
    }
  });
  it("survives an address length byte pointing past the end and a count larger than the entries", () => {
    const good = encodeBucket(TWO_ENTRIES());
    const longAddr = good.slice(0);
    longAddr[2 + 12] = 255;
    expect(decodeBucket(longAddr)).toBeNull();
    expect(findEntry(longAddr, 1)).toBeNull();
    const bigCount = good.slice(0);
    bigCount[1] = 200;
    expect(decodeBucket(bigCount)).toBeNull();
  });
  it("finds one entry without decoding the others, and rewrites its lastSeen in place", () => {
    const b = encodeBucket(TWO_ENTRIES());
    const c = findEntry(b, 0xffffffffffffffff)!;
    expect(c.address).toBe("[::1]:80");
    expect(c.lastSeen).toBe(0xfffffffe);
    c.setLastSeen(77);
    expect(decodeBucket(b)![1].lastSeen).toBe(77);
    expect(decodeBucket(b)![0].lastSeen).toBe(2);
    expect(findEntry(b, 5)).toBeNull();
  });
  it("starts a reused cursor afresh on each walk, whatever the walk before it found", () => {
    const cursor = new BucketCursor(new Uint8Array(0));
    const corrupt = encodeBucket(TWO_ENTRIES()).slice(0, 5);
    expect(findEntry(corrupt, 1, cursor)).toBeNull();
    expect(cursor.valid).toBe(false);
    const b = encodeBucket(TWO_ENTRIES());
    expect(findEntry(b, 0xffffffffffffffff, cursor)!.address).toBe("[::1]:80");
    expect(findEntry(b, 1, cursor)!.lastSeen).toBe(2);
    expect(cursor.valid).toBe(true);
  });
});

describe("bucket rules", () => {
  it("expires an entry only after more than ttl seconds, and never for a clock that went back", () => {
    expect(isExpired(1000, 1100, 100)).toBe(false);
    expect(isExpired(1000, 1101, 100)).toBe(true);
    expect(isExpired(1000, 900, 100)).toBe(false);
  });
  it("rounds the bucket count up, so capacity is never cut", () => {
    expect(bucketCountFor(64, 8)).toBe(8);
    expect(bucketCountFor(65, 8)).toBe(9);
    expect(bucketCountFor(1, 64)).toBe(1);
  });
});
