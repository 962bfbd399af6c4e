// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room -> pod affinity table: a fixed number of buckets in a KvStore (bucket.ts holds the byte
// format). Shared data has no delete and no key listing, so the bucket index space is what bounds
// memory and what the sweeper walks. Every write is a CAS on one bucket; the first writer wins and
// racing requests re-read and follow the winner. The request path reads buckets through this
// worker's copies (bucket-copies.ts); every write goes through them too, so it stamps the bucket.
import { KvStore, StoredValue, WriteStatus } from "./store";
import { BucketCopies, BucketKeys } from "./bucket-copies";
import { BucketCursor, Entry, encodeBucket, decodeBucket, findEntry, isExpired, bucketCountFor } from "./bucket";
import { PinPolicy, FixedPlacement, KeepPinsOnly, SettledPlacement } from "./placement";
import { AddressNames } from "./addresses";
import { FailedPods } from "./failed-pods";

const KEEP_PINS_ONLY = new KeepPinsOnly();

export const enum Outcome {
  /** The room was pinned already; `address` is its pod. */
  Hit = 0,
  /** A new pin was written. */
  Pinned = 1,
  /** The old pod left (or is unusable); the room was re-pinned. */
  Repinned = 2,
  /** Not pinned and no pod chosen: the gateway's load balancer places the room. */
  NoPlacement = 3,
  /** CAS kept failing; `address` is the placement, used unpinned for this request. */
  Contended = 4,
  /** Nothing written yet: the room directory settles the room's pod first (then `settle`). */
  Pending = 5,
}

export class Resolution {
  outcome: Outcome = Outcome.NoPlacement;
  address: string = "";
  /** Entries this write pushed out of a full bucket (least recently seen first). */
  evictedForCapacity: i32 = 0;
  /** Expired entries dropped while writing this bucket. */
  evictedExpired: i32 = 0;
  /** CAS attempts that lost to another writer. */
  casRetries: i32 = 0;
  /** A hit whose lastSeen was due for a refresh (at most once per refresh interval per room). */
  refreshed: bool = false;
  /**
   * A hit on a pod that is down since the room was last joined (see find): the join must not be pinned,
   * and lastSeen stays as it was, so the room's other players are not pinned there either.
   */
  podDown: bool = false;

  reset(): Resolution {
    this.outcome = Outcome.NoPlacement;
    this.address = "";
    this.evictedForCapacity = 0;
    this.evictedExpired = 0;
    this.casRetries = 0;
    this.refreshed = false;
    this.podDown = false;
    return this;
  }
}

export const MAX_CAS_ATTEMPTS = 16;
/** Buckets that share one stamp (see stampKey). */
export const BUCKETS_PER_STAMP = 16;

export class AffinityTable extends BucketKeys {
  readonly keyPrefix: string;
  readonly stampPrefix: string;
  /** Each stamp's key, made the first time it is read (every join reads one). */
  private readonly stampKeys: StaticArray<string | null>;
  readonly bucketCount: i32;
  /** This worker's copies of the buckets the request path read (none when constructed with 0 slots); assigned
   * last in the constructor, as it takes the table itself for its key scheme. */
  readonly copies!: BucketCopies;
  /** Pods' addresses as strings, made once per pod (a hit hands back the pod's address). */
  private readonly addressNames: AddressNames = new AddressNames();
  /** Walks a bucket for the request path (one request at a time per worker). */
  private readonly cursor: BucketCursor = new BucketCursor(new Uint8Array(0));

  constructor(
    public store: KvStore,
    public readonly prefix: string,
    /** Most entries the table holds; the last bucket takes the remainder so the total never exceeds it. */
    public capacity: i32,
    public bucketSize: i32,
    public ttlSeconds: u32,
    /** A hit rewrites lastSeen only when it is older than this, to keep hot rooms from writing on every join. */
    public refreshSeconds: u32,
    /** Buckets this worker keeps a copy of (workerBucketCopies); 0 reads every bucket from the store. */
    copySlots: i32 = 0,
  ) {
    super();
    const buckets = bucketCountFor(capacity, bucketSize);
    this.bucketCount = buckets;
    // The geometry is part of the key: a different bucket count maps rooms differently, so it gets a
    // fresh table instead of misreading the old one.
    this.keyPrefix = prefix + ":t:" + buckets.toString() + ":";
    this.stampPrefix = prefix + ":s:" + buckets.toString() + ":";
    this.stampKeys = new StaticArray<string | null>((buckets + BUCKETS_PER_STAMP - 1) / BUCKETS_PER_STAMP);
    this.copies = new BucketCopies(store, this, min<i32>(copySlots, buckets));
  }

  bucketOf(fingerprint: u64): i32 {
    return <i32>((fingerprint >> 32) % <u64>this.bucketCount);
  }

  bucketKey(index: i32): string {
    return this.keyPrefix + index.toString();
  }

  /**
   * The key whose CAS token changes on every write of bucket `index` (bucket-copies.ts). One stamp
   * serves BUCKETS_PER_STAMP buckets: a write retires copies of its neighbours too, but the stamps
   * cost one shared-data key per 16 buckets, not one per bucket (a key costs Envoy ~130 B).
   */
  stampKey(index: i32): string {
    const stamp = index / BUCKETS_PER_STAMP;
    let key = this.stampKeys[stamp];
    if (key == null) {
      key = this.stampPrefix + stamp.toString();
      this.stampKeys[stamp] = key;
    }
    return key!;
  }

  /** on_request_headers: bucket `index`, from this worker's copy while it holds. */
  readBucket(index: i32): StoredValue {
    return this.copies.read(index);
  }

  /** Every write of a bucket (table, sweeper): CAS on the bucket, then a new stamp. */
  writeBucket(index: i32, value: Uint8Array, cas: u32): WriteStatus {
    return this.copies.write(index, value, cas);
  }

  /** Entries bucket `index` may hold: bucketSize, except the last bucket, which holds what is left. */
  limitOf(index: i32): i32 {
    return index < this.bucketCount - 1 ? this.bucketSize : this.capacity - (this.bucketCount - 1) * this.bucketSize;
  }

  expired(lastSeen: u32, now: u32): bool {
    return isExpired(lastSeen, now, this.ttlSeconds);
  }

  /**
   * on_request_headers: returns the pod for the room, pinning it if needed. CAS-safe: on a lost
   * race it re-reads the bucket and follows whichever pin won.
   */
  resolve(fingerprint: u64, now: u32, policy: PinPolicy, into: Resolution = new Resolution(), down: FailedPods | null = null): Resolution {
    const res = into.reset();
    const bucket = this.bucketOf(fingerprint);
    const limit = this.limitOf(bucket);
    let placement = "";
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const sv = this.readBucket(bucket);
      if (sv.value == null) {
        // First use of this bucket: create it empty, then insert through CAS like any other write.
        // A lookup (find, the request phase) creates it too: the room's first players are then pinned
        // on their responses by CAS on an existing bucket. Created at pin time instead, two first players
        // answered together would both create it, and the later create would wipe the earlier pin.
        // (No create-if-absent in the ABI: two first writers can both create; both write empties.)
        this.writeBucket(bucket, encodeBucket([]), 0);
        continue;
      }
      // Fast path for a join of a pinned room: find the entry in the raw bytes, decode nothing else,
      // and refresh lastSeen in place.
      const raw = sv.value!;
      const found = findEntry(raw, fingerprint, this.cursor);
      let repin = false;
      if (found != null && !this.expired(found.lastSeen, now)) {
        const address = this.addressNames.nameAt(found.addressPtr, found.addressLength);
        if (policy.keepsPin(address)) {
          res.outcome = Outcome.Hit;
          res.address = address;
          const seen = found.lastSeen;
          if (down != null && down.failedSinceRaw(found.addressPtr, <usize>found.addressLength, seen)) {
            res.podDown = true;
            return res;
          }
          if (now > seen && now - seen >= this.refreshSeconds) {
            res.refreshed = true;
            found.setLastSeen(now);
            // Best effort: a lost race means someone else just wrote the bucket; the pin stands.
            this.writeBucket(bucket, raw, sv.cas);
          }
          return res;
        }
        repin = true; // live pin on a pod that may not keep it
      }
      if (placement.length == 0) placement = policy.place(fingerprint);
      if (placement.length == 0) {
        res.outcome = Outcome.NoPlacement;
        return res;
      }

      // Write: drop expired entries, update or insert ours, evict least recently seen if still full.
      let entries = decodeBucket(raw);
      if (entries == null) entries = new Array<Entry>(0); // unreadable bucket: rewrite it
      const kept = new Array<Entry>(0);
      let expiredDropped = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (e.fingerprint == fingerprint) continue;
        if (this.expired(e.lastSeen, now)) {
          expiredDropped++;
          continue;
        }
        kept.push(e);
      }
      let capacityDropped = 0;
      while (kept.length >= limit) {
        let oldest = 0;
        for (let i = 1; i < kept.length; i++) if (kept[i].lastSeen < kept[oldest].lastSeen) oldest = i;
        kept.splice(oldest, 1);
        capacityDropped++;
      }
      kept.push(new Entry(fingerprint, now, placement));
      if (this.writeBucket(bucket, encodeBucket(kept), sv.cas) == WriteStatus.Ok) {
        res.outcome = repin ? Outcome.Repinned : Outcome.Pinned;
        res.address = placement;
        res.evictedExpired = expiredDropped;
        res.evictedForCapacity = capacityDropped;
        return res;
      }
      res.casRetries++;
    }
    res.outcome = Outcome.Contended;
    res.address = placement;
    return res;
  }

  /**
   * on_request_headers: the room's pod if it is pinned (Hit, lastSeen refreshed at most once per
   * refresh interval), else NoPlacement with no address. Writes nothing else. The answer is written
   * into `into` (the request hook reuses one, so a join allocates none). `down`: pods that must not be
   * pinned to; a pin to one last seen before it went down is a Hit with `podDown`, lastSeen untouched.
   */
  find(fingerprint: u64, now: u32, into: Resolution = new Resolution(), down: FailedPods | null = null): Resolution {
    return this.resolve(fingerprint, now, KEEP_PINS_ONLY, into, down);
  }

  /**
   * Called by history.ts: the room's pod in this table if pinned and unexpired, else "".
   * Never writes.
   */
  peek(fingerprint: u64, now: u32): string {
    const sv = this.store.get(this.bucketKey(this.bucketOf(fingerprint)));
    if (sv.value == null) return "";
    const found = findEntry(sv.value!, fingerprint);
    return found != null && !this.expired(found.lastSeen, now) ? found.address : "";
  }

  /**
   * on_response_headers for learning: pin the room to `address` (the pod Envoy's load balancer chose)
   * unless another request pinned it first.
   */
  learn(fingerprint: u64, now: u32, address: string): Resolution {
    return this.resolve(fingerprint, now, new FixedPlacement(address, ""));
  }

  /**
   * on_response_headers for a pin the gateway did not honour (the pinned pod was not usable, so its
   * load balancer chose `actual`): move the room to `actual` unless someone already moved it elsewhere.
   */
  correct(fingerprint: u64, now: u32, pinned: string, actual: string): Resolution {
    return this.resolve(fingerprint, now, new FixedPlacement(actual, pinned));
  }

  /**
   * A 101 taught the table the room's pod: a new room (`from` empty) is learned, a room whose pin to
   * `from` was not honoured is corrected. Called by the decider, and by the directory coordinator once
   * the directory has answered.
   */
  record(fingerprint: u64, now: u32, from: string, to: string): Resolution {
    return from.length == 0 ? this.learn(fingerprint, now, to) : this.correct(fingerprint, now, from, to);
  }

  /**
   * Called by the directory coordinator: the room directory holds the room on `address` (this replica's
   * write stood, or another replica's came first): pin it there, whatever this table held.
   */
  settle(fingerprint: u64, now: u32, address: string): Resolution {
    return this.resolve(fingerprint, now, new SettledPlacement(address));
  }
}
