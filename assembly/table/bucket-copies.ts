// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A worker's copies of the affinity table's buckets, and when a copy may stand in for a read: while
// the bucket's stamp keeps its CAS token (why and the ordering that keeps it safe: docs/architecture.md).
import { KvStore, StoredValue, WriteStatus } from "./store";

const EMPTY = new Uint8Array(0);

/** Where bucket `index` and its stamp live (the table's key scheme); asked only for a key about to be used. */
export abstract class BucketKeys {
  abstract bucketKey(index: i32): string;
  abstract stampKey(index: i32): string;
}

class Copy {
  constructor(
    public index: i32,
    public stamp: u32,
    public bucket: StoredValue,
  ) {}
}

export class BucketCopies {
  /** One copy per slot, by bucket index modulo the slot count: memory stays bounded, lookups cost nothing. */
  private readonly slots: Array<Copy | null>;
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
    this.slots = new Array<Copy | null>(slotCount);
  }

  /**
   * on_request_headers (table.ts): bucket `index`'s value and CAS token, from this worker's copy
   * while its stamp is unchanged. The bytes may be the copy itself: a caller that changes them must
   * write them through `write`, which retires the copy either way.
   */
  read(index: i32): StoredValue {
    const n = this.slots.length;
    if (n == 0) return this.store.get(this.keys.bucketKey(index));
    const version = this.store.version(this.keys.stampKey(index));
    const slot = index % n;
    const copy = this.slots[slot];
    // No stamp yet (the bucket was never written by a build that stamps): nothing to hold a copy to.
    if (version < 0) {
      this.missed++;
      return this.store.get(this.keys.bucketKey(index));
    }
    const stamp = <u32>version;
    if (copy != null && copy.index == index && copy.stamp == stamp) {
      this.served++;
      return copy.bucket;
    }
    this.missed++;
    const bucket = this.store.get(this.keys.bucketKey(index));
    this.slots[slot] = bucket.value == null ? null : new Copy(index, stamp, bucket);
    return bucket;
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
    const n = this.slots.length;
    if (n > 0) {
      const slot = index % n;
      const copy = this.slots[slot];
      if (copy != null && copy.index == index) this.slots[slot] = null;
    }
    const status = this.store.set(this.keys.bucketKey(index), value, cas);
    if (status == WriteStatus.Ok) this.store.set(this.keys.stampKey(index), EMPTY, 0);
    return status;
  }
}
