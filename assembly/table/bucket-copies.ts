// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A worker's copies of the affinity table's buckets, and when a copy may stand in for a read: while
// the bucket's stamp keeps its CAS token (why and the ordering that keeps it safe: docs/architecture.md).
import { KvStore, StoredValue, WriteStatus } from "./store";

const EMPTY = new Uint8Array(0);
/** Slots per set. */
const WAYS: i32 = 2;

/** Where bucket `index` and its stamp live (the table's key scheme); asked only for a key about to be used. */
export abstract class BucketKeys {
  abstract bucketKey(index: i32): string;
  abstract stampKey(index: i32): string;
}

/** A bucket's value as read under a stamp: it is itself what a read returns (no object per read). */
class Copy extends StoredValue {
  /** When a read last used this copy (the copies' read count then): the older of two is replaced. */
  lastUsed: u32 = 0;
  constructor(
    public index: i32,
    public stamp: u32,
    value: Uint8Array | null,
    cas: u32,
  ) {
    super(value, cas);
  }
}

export class BucketCopies {
  /**
   * Copies in sets of WAYS slots, a bucket's set by its index modulo the set count: memory stays bounded,
   * a lookup looks at two slots, and two hot buckets of one set do not push each other out.
   */
  private readonly slots: StaticArray<Copy | null>;
  private readonly sets: i32;
  private reads: u32 = 0;
  /** Reads a copy answered (only the stamp was read). */
  served: u64 = 0;
  /** Reads a copy could not answer (none, another bucket's, or retired): the stamp and the bucket were read. */
  missed: u64 = 0;
  /** `served` and `missed` at the last takeCounts. */
  private servedTaken: u64 = 0;
  private missedTaken: u64 = 0;

  constructor(
    private readonly store: KvStore,
    private readonly keys: BucketKeys,
    slotCount: i32,
  ) {
    // An odd slot count leaves its last slot unused; a single slot is a set of one.
    this.sets = max<i32>(1, slotCount / WAYS);
    this.slots = new StaticArray<Copy | null>(max<i32>(0, slotCount));
  }

  /** The first slot of bucket `index`'s set, and one past its last (a set of one where the slots run out). */
  private setOf(index: i32): i32 {
    return (index % this.sets) * WAYS;
  }
  private setEnd(first: i32): i32 {
    return min<i32>(first + WAYS, this.slots.length);
  }

  /** The slot holding this worker's copy of bucket `index` (a set holds at most one per bucket), or -1. */
  private slotOf(index: i32): i32 {
    const first = this.setOf(index);
    for (let i = first, end = this.setEnd(first); i < end; i++) {
      const c = unchecked(this.slots[i]);
      if (c != null && c.index == index) return i;
    }
    return -1;
  }

  /**
   * Keeps `copy` in its set: in `held`, the slot of an older copy of its bucket (-1: none), else in an
   * empty slot, else over the least recently used.
   */
  private keep(copy: Copy, held: i32): void {
    let victim = held;
    if (victim < 0) {
      const first = this.setOf(copy.index);
      victim = first;
      for (let i = first, end = this.setEnd(first); i < end; i++) {
        const c = unchecked(this.slots[i]);
        if (c == null) {
          victim = i;
          break;
        }
        if (c.lastUsed < unchecked(this.slots[victim])!.lastUsed) victim = i;
      }
    }
    unchecked((this.slots[victim] = copy));
  }

  /** Drops this worker's copy of bucket `index`, if it holds one. */
  private retire(index: i32): void {
    const slot = this.slotOf(index);
    if (slot >= 0) unchecked((this.slots[slot] = null));
  }

  /**
   * on_request_headers (table.ts): bucket `index`'s value and CAS token, from this worker's copy
   * while its stamp is unchanged. The bytes may be the copy itself: a caller that changes them must
   * write them through `write`, which retires the copy either way.
   */
  read(index: i32): StoredValue {
    if (this.slots.length == 0) return this.store.get(this.keys.bucketKey(index));
    const version = this.store.version(this.keys.stampKey(index));
    // No stamp yet (the bucket was never written by a build that stamps): nothing to hold a copy to.
    if (version < 0) {
      this.missed++;
      return this.store.get(this.keys.bucketKey(index));
    }
    const stamp = <u32>version;
    const slot = this.slotOf(index);
    const copy = slot >= 0 ? unchecked(this.slots[slot]) : null;
    if (copy != null && copy.stamp == stamp) {
      this.served++;
      copy.lastUsed = ++this.reads;
      return copy;
    }
    this.missed++;
    const bucket = this.store.get(this.keys.bucketKey(index));
    if (bucket.value == null) {
      if (slot >= 0) unchecked((this.slots[slot] = null));
      return bucket;
    }
    const fresh = new Copy(index, stamp, bucket.value, bucket.cas);
    fresh.lastUsed = ++this.reads;
    this.keep(fresh, slot);
    return fresh;
  }

  /** on_tick (metrics.ts): reads served and missed since the last call, as [served, missed]. */
  takeCounts(): StaticArray<u64> {
    const out = new StaticArray<u64>(2);
    out[0] = this.served - this.servedTaken;
    out[1] = this.missed - this.missedTaken;
    this.servedTaken = this.served;
    this.missedTaken = this.missed;
    return out;
  }

  /**
   * Every bucket write (table and sweeper): a CAS write of the bucket, then, if it landed, a new stamp,
   * which retires every worker's copy of it. Stamps are written whatever this worker's slot count, so
   * the copies of workers (and configurations) that keep them stay true.
   */
  write(index: i32, value: Uint8Array, cas: u32): WriteStatus {
    this.retire(index);
    const status = this.store.set(this.keys.bucketKey(index), value, cas);
    if (status == WriteStatus.Ok) this.store.set(this.keys.stampKey(index), EMPTY, 0);
    return status;
  }
}
