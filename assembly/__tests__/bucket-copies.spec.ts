// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { BucketCopies } from "../table/bucket-copies";
import { AffinityTable, Outcome } from "../table/table";
import { WriteStatus } from "../table/store";
import { Entry, encodeBucket } from "../table/bucket";
import { MemoryStore } from "./memory-store";
import { PinEveryRoomTo } from "./helpers";

/** Bucket 1 of a table "ra" with 4 buckets, and its stamp (the table's stampKey(1)). */
const BUCKET = 1;
const BUCKET_KEY = "ra:t:4:1";
const STAMP_KEY = "ra:s:4:0";
/** Another bucket, under the same stamp, that lands in the same slot of a one-slot cache. */
const OTHER = 2;
const OTHER_STAMP = "ra:s:4:0";
/** The key scheme of that table (a table without copies of its own; the tests' copies use its keys). */
const KEYS = new AffinityTable(new MemoryStore(), "ra", 4, 1, 100, 10);

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
function text(b: Uint8Array | null): string {
  return b == null ? "<none>" : String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

describe("bucket copies", () => {
  it("answers a second read of an unchanged bucket from the copy, reading only the stamp", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    worker.write(BUCKET, bytes("v1"), 0);
    expect(text(worker.read(BUCKET).value)).toBe("v1");
    const bucketReads = s.readsOf(BUCKET_KEY);
    const stampReads = s.readsOf(STAMP_KEY);
    const again = worker.read(BUCKET);
    expect(text(again.value)).toBe("v1");
    expect(again.cas).toBe(s.tokens.get(BUCKET_KEY));
    expect(s.readsOf(BUCKET_KEY)).toBe(bucketReads);
    expect(s.readsOf(STAMP_KEY)).toBe(stampReads + 1);
    expect(worker.served).toBe(1);
  });
  it("counts each read as served or missed, and hands over only what was counted since it last did", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    worker.write(BUCKET, bytes("v1"), 0);
    worker.read(BUCKET); // no copy yet
    worker.read(BUCKET); // served
    worker.read(BUCKET); // served
    const first = worker.takeCounts();
    expect(first[0]).toBe(2);
    expect(first[1]).toBe(1);
    worker.read(BUCKET);
    const second = worker.takeCounts();
    expect(second[0]).toBe(1);
    expect(second[1]).toBe(0);
  });
  it("retires a copy when another worker writes the bucket", () => {
    const s = new MemoryStore();
    const mine = new BucketCopies(s, KEYS, 8);
    const other = new BucketCopies(s, KEYS, 8);
    mine.write(BUCKET, bytes("v1"), 0);
    mine.read(BUCKET);
    const cas = other.read(BUCKET).cas;
    expect(other.write(BUCKET, bytes("v2"), cas)).toBe(WriteStatus.Ok);
    expect(text(mine.read(BUCKET).value)).toBe("v2");
    expect(mine.served).toBe(0);
  });
  it("retires its own copy when it writes the bucket", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    worker.write(BUCKET, bytes("v1"), 0);
    const cas = worker.read(BUCKET).cas;
    worker.write(BUCKET, bytes("v2"), cas);
    const after = worker.read(BUCKET);
    expect(text(after.value)).toBe("v2");
    expect(after.cas).toBe(s.tokens.get(BUCKET_KEY));
  });
  it("writes no stamp for a write that lost its CAS", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    worker.write(BUCKET, bytes("v1"), 0);
    const stamps = s.writesOf(STAMP_KEY);
    const stale = s.tokens.get(BUCKET_KEY) + 1000;
    expect(worker.write(BUCKET, bytes("v2"), stale)).toBe(WriteStatus.CasMismatch);
    expect(s.writesOf(STAMP_KEY)).toBe(stamps);
  });
  it("never answers from a copy for a bucket that has no stamp", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    s.set(BUCKET_KEY, bytes("v1"), 0); // a writer that does not stamp (a build from before stamps)
    worker.read(BUCKET);
    s.set(BUCKET_KEY, bytes("v2"), 0);
    expect(text(worker.read(BUCKET).value)).toBe("v2");
    expect(worker.served).toBe(0);
  });
  it("keeps buckets that share a slot apart", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 1);
    worker.write(BUCKET, bytes("one"), 0);
    worker.write(OTHER, bytes("two"), 0);
    for (let i = 0; i < 3; i++) {
      expect(text(worker.read(BUCKET).value)).toBe("one");
      expect(text(worker.read(OTHER).value)).toBe("two");
    }
  });
  it("keeps two hot buckets that fall in one set, and replaces the one read least recently", () => {
    const s = new MemoryStore();
    const big = new AffinityTable(s, "ra", 64, 1, 100, 10); // 64 buckets: the key scheme
    const worker = new BucketCopies(s, big, 4); // two sets of two: buckets 0, 2 and 4 share a set
    for (let b = 0; b <= 4; b += 2) worker.write(b, bytes("b" + b.toString()), 0);
    worker.read(0);
    worker.read(4);
    for (let i = 0; i < 3; i++) {
      expect(text(worker.read(0).value)).toBe("b0");
      expect(text(worker.read(4).value)).toBe("b4");
    }
    expect(worker.missed).toBe(2);
    worker.read(0); // bucket 4 is now the one read least recently
    expect(text(worker.read(2).value)).toBe("b2"); // takes bucket 4's slot
    const reads0 = s.readsOf(big.bucketKey(0));
    const reads4 = s.readsOf(big.bucketKey(4));
    expect(text(worker.read(0).value)).toBe("b0");
    expect(text(worker.read(4).value)).toBe("b4");
    expect(s.readsOf(big.bucketKey(0))).toBe(reads0); // still a copy
    expect(s.readsOf(big.bucketKey(4))).toBe(reads4 + 1); // read again
  });
  it("uses exactly the slots it was given, an odd count included", () => {
    const s = new MemoryStore();
    const big = new AffinityTable(s, "ra", 64, 1, 100, 10);
    const worker = new BucketCopies(s, big, 3);
    for (let b = 0; b < 8; b++) worker.write(b, bytes("b" + b.toString()), 0);
    for (let round = 0; round < 3; round++) for (let b = 0; b < 8; b++) expect(text(worker.read(b).value)).toBe("b" + b.toString());
  });
  it("reads no stamp with zero slots, and still stamps its writes", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 0);
    worker.write(BUCKET, bytes("v1"), 0);
    worker.read(BUCKET);
    worker.read(BUCKET);
    expect(s.readsOf(STAMP_KEY)).toBe(0);
    expect(s.readsOf(BUCKET_KEY)).toBe(2);
    expect(s.writesOf(STAMP_KEY)).toBe(1);
  });
  it("names the stamps as the table does: one for every 16 buckets", () => {
    const t = new AffinityTable(new MemoryStore(), "ra", 4, 1, 100, 10, 4);
    expect(t.stampKey(BUCKET)).toBe(STAMP_KEY);
    expect(t.stampKey(OTHER)).toBe(OTHER_STAMP);
    const big = new AffinityTable(new MemoryStore(), "ra", 64, 1, 100, 10, 4);
    expect(big.stampKey(15)).toBe("ra:s:64:0");
    expect(big.stampKey(16)).toBe("ra:s:64:1");
  });
  it("retires the copies of every bucket under a stamp when one of them is written", () => {
    const s = new MemoryStore();
    const worker = new BucketCopies(s, KEYS, 8);
    worker.write(BUCKET, bytes("one"), 0);
    worker.write(OTHER, bytes("two"), 0);
    worker.read(BUCKET);
    const other = new BucketCopies(s, KEYS, 8);
    other.write(OTHER, bytes("two, again"), 0);
    expect(text(worker.read(BUCKET).value)).toBe("one");
    expect(worker.served).toBe(0);
  });
  it("makes a placement taken on a copy that missed a write lose its CAS and follow the winner", () => {
    const s = new MemoryStore();
    const mine = new AffinityTable(s, "ra", 8, 2, 100, 10, 4); // 4 buckets of two entries, copies on
    const neighbour: u64 = 0x0000_0005_0000_0000; // bucket 1
    const room: u64 = 0x0000_0001_0000_0000; // bucket 1 too
    mine.resolve(neighbour, 1000, new PinEveryRoomTo("10.0.0.1:80"));
    mine.resolve(neighbour, 1000, new PinEveryRoomTo("10.0.0.1:80")); // this worker now holds a copy of bucket 1
    // Another worker placed the room: its bucket write landed, its stamp write is still to come.
    s.set(mine.bucketKey(1), encodeBucket([new Entry(neighbour, 1000, "10.0.0.1:80"), new Entry(room, 1000, "10.0.0.9:80")]), 0);
    const r = mine.resolve(room, 1001, new PinEveryRoomTo("10.0.0.2:80"));
    expect(mine.copies.served).toBe(1); // the first attempt decided on the copy
    expect(r.casRetries).toBe(1);
    expect(r.outcome).toBe(Outcome.Hit);
    expect(r.address).toBe("10.0.0.9:80");
  });
});
