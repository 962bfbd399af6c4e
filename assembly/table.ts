// The room -> pod affinity table: a fixed number of buckets, each one KvStore value holding up to
// `bucketSize` entries. Shared data has no delete and no key listing, so the bucket index space is
// what bounds memory and what the sweeper walks. Every write is a CAS on one bucket; the first
// writer wins and racing requests re-read and follow the winner.
import { KvStore, WriteStatus } from "./store";

/** One pinned room. The room key itself is not stored, only its 64-bit fingerprint (~27 B per entry). */
export class Entry {
  constructor(public fingerprint: u64, public lastSeen: u32, public address: string) {}
}

/** Bucket format version byte, and the fixed bytes of an entry before its address (shared with the sweeper). */
export const FORMAT_V1: u8 = 1;
export const ENTRY_FIXED: i32 = 8 + 4 + 1;

/** Bucket value layout: u8 format, u8 count, then per entry u64 fingerprint, u32 lastSeen (s), u8 len, address. */
export function encodeBucket(entries: Entry[]): Uint8Array {
  let size = 2;
  const addrs = new Array<ArrayBuffer>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    addrs[i] = String.UTF8.encode(entries[i].address);
    size += ENTRY_FIXED + addrs[i].byteLength;
  }
  const out = new Uint8Array(size);
  const base = out.dataStart;
  store<u8>(base, FORMAT_V1);
  store<u8>(base + 1, <u8>entries.length);
  let off: usize = 2;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    store<u64>(base + off, e.fingerprint);
    store<u32>(base + off + 8, e.lastSeen);
    const a = addrs[i];
    store<u8>(base + off + 12, <u8>a.byteLength);
    memory.copy(base + off + ENTRY_FIXED, changetype<usize>(a), a.byteLength);
    off += ENTRY_FIXED + a.byteLength;
  }
  return out;
}

/** Decodes a bucket; returns null when the bytes are not a valid bucket (never traps). */
export function decodeBucket(b: Uint8Array | null): Entry[] | null {
  const out = new Array<Entry>(0);
  if (b == null || b.length == 0) return out;
  if (b.length < 2 || b[0] != FORMAT_V1) return null;
  const base = b.dataStart;
  const count = <i32>load<u8>(base + 1);
  let off = 2;
  for (let i = 0; i < count; i++) {
    if (off + ENTRY_FIXED > b.length) return null;
    const fp = load<u64>(base + off);
    const seen = load<u32>(base + off + 8);
    const alen = <i32>load<u8>(base + off + 12);
    if (off + ENTRY_FIXED + alen > b.length) return null;
    const addr = String.UTF8.decodeUnsafe(base + off + ENTRY_FIXED, alen);
    out.push(new Entry(fp, seen, addr));
    off += ENTRY_FIXED + alen;
  }
  return off == b.length ? out : null;
}

/**
 * Byte offset of `fingerprint`'s entry in a raw bucket, -1 if absent, -2 if the bytes are not a
 * valid bucket. The join path uses it to avoid decoding every entry of a full bucket.
 */
export function findEntry(b: Uint8Array, fingerprint: u64): i32 {
  if (b.length == 0) return -1;
  if (b.length < 2 || b[0] != FORMAT_V1) return -2;
  const base = b.dataStart;
  const count = <i32>load<u8>(base + 1);
  let off = 2;
  for (let i = 0; i < count; i++) {
    if (off + ENTRY_FIXED > b.length) return -2;
    const alen = <i32>load<u8>(base + off + 12);
    if (off + ENTRY_FIXED + alen > b.length) return -2;
    if (load<u64>(base + off) == fingerprint) return off;
    off += ENTRY_FIXED + alen;
  }
  return off == b.length ? -1 : -2;
}

/** lastSeen of the entry at `off` (see findEntry). */
export function entrySeenAt(b: Uint8Array, off: i32): u32 {
  return load<u32>(b.dataStart + off + 8);
}

/** Address of the entry at `off` (see findEntry). */
export function entryAddressAt(b: Uint8Array, off: i32): string {
  return String.UTF8.decodeUnsafe(b.dataStart + off + ENTRY_FIXED, <usize>load<u8>(b.dataStart + off + 12));
}

/** Answers, for a resolve, whether a pinned pod may still take the room's players. */
export abstract class PinPolicy {
  /** The pinned pod is known to be usable (member, healthy or draining); false re-places the room. */
  abstract keepsPin(address: string): bool;
  /** The pod for a new (or re-placed) room, or "" if none can be chosen now. */
  abstract place(fingerprint: u64): string;
}

export const enum Outcome {
  /** The room was pinned already; `address` is its pod. */
  Hit = 0,
  /** A new pin was written. */
  Pinned = 1,
  /** The old pod left (or is unusable); the room was re-pinned. */
  Repinned = 2,
  /** Not pinned and no pod can be chosen now (no membership yet): let the load balancer pick. */
  NoPlacement = 3,
  /** CAS kept failing; `address` is the placement, used unpinned for this request. */
  Contended = 4,
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
}

export const MAX_CAS_ATTEMPTS = 16;

export class AffinityTable {
  readonly keyPrefix: string;

  readonly bucketCount: i32;

  constructor(
    public store: KvStore,
    prefix: string,
    /** Most entries the table holds; the last bucket takes the remainder so the total never exceeds it. */
    public capacity: i32,
    public bucketSize: i32,
    public ttlSeconds: u32,
    /** A hit rewrites lastSeen only when it is older than this, to keep hot rooms from writing on every join. */
    public refreshSeconds: u32,
  ) {
    const buckets = (capacity + bucketSize - 1) / bucketSize;
    this.bucketCount = buckets;
    // The geometry is part of the key: a different bucket count maps rooms differently, so it gets a
    // fresh table instead of misreading the old one.
    this.keyPrefix = prefix + ":t:" + buckets.toString() + ":";
  }

  bucketOf(fingerprint: u64): i32 {
    return <i32>((fingerprint >> 32) % <u64>this.bucketCount);
  }

  bucketKey(index: i32): string {
    return this.keyPrefix + index.toString();
  }

  /** Entries bucket `index` may hold: bucketSize, except the last bucket, which holds what is left. */
  limitOf(index: i32): i32 {
    return index < this.bucketCount - 1 ? this.bucketSize : this.capacity - (this.bucketCount - 1) * this.bucketSize;
  }

  expired(e: Entry, now: u32): bool {
    return this.expiredAt(e.lastSeen, now);
  }

  expiredAt(lastSeen: u32, now: u32): bool {
    return now > lastSeen && now - lastSeen > this.ttlSeconds;
  }

  /** Reads the room's live entry, if any (no write). */
  lookup(fingerprint: u64, now: u32): Entry | null {
    const entries = decodeBucket(this.store.get(this.bucketKey(this.bucketOf(fingerprint))).value);
    if (entries == null) return null;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.fingerprint == fingerprint) return this.expired(e, now) ? null : e;
    }
    return null;
  }

  /**
   * Request-path contract: returns the pod for the room, pinning it if needed. CAS-safe: on a lost
   * race it re-reads the bucket and follows whichever pin won.
   */
  resolve(fingerprint: u64, now: u32, policy: PinPolicy): Resolution {
    const res = new Resolution();
    const bucket = this.bucketOf(fingerprint);
    const key = this.bucketKey(bucket);
    const limit = this.limitOf(bucket);
    let placement = "";
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const sv = this.store.get(key);
      if (sv.value == null) {
        // First use of this bucket: create it empty, then insert through CAS like any other write.
        // (No create-if-absent in the ABI: two first writers can both create; both write empties.)
        this.store.set(key, encodeBucket([]), 0);
        continue;
      }
      // Fast path for a join of a pinned room: find the entry in the raw bytes, decode nothing else,
      // and refresh lastSeen in place.
      const raw = sv.value!;
      const at = findEntry(raw, fingerprint);
      if (at >= 0) {
        const seen = entrySeenAt(raw, at);
        if (!this.expiredAt(seen, now)) {
          const address = entryAddressAt(raw, at);
          if (policy.keepsPin(address)) {
            res.outcome = Outcome.Hit;
            res.address = address;
            if (now > seen && now - seen >= this.refreshSeconds) {
              store<u32>(raw.dataStart + at + 8, now);
              // Best effort: a lost race means someone else just wrote the bucket; the pin stands.
              this.store.set(key, raw, sv.cas);
            }
            return res;
          }
        }
      }
      let entries = decodeBucket(raw);
      if (entries == null) entries = new Array<Entry>(0); // unreadable bucket: rewrite it
      let found = -1;
      for (let i = 0; i < entries.length; i++) {
        if (entries[i].fingerprint == fingerprint) { found = i; break; }
      }
      let repin = false;
      if (found >= 0) {
        // The fast path above handled a live, usable pin; here the pin expired or its pod is unusable.
        repin = !this.expired(entries[found], now);
      }
      if (placement.length == 0) placement = policy.place(fingerprint);
      if (placement.length == 0) { res.outcome = Outcome.NoPlacement; return res; }

      // Write: drop expired entries, update or insert ours, evict least recently seen if still full.
      const kept = new Array<Entry>(0);
      let expiredDropped = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (e.fingerprint == fingerprint) continue;
        if (this.expired(e, now)) { expiredDropped++; continue; }
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
      if (this.store.set(key, encodeBucket(kept), sv.cas) == WriteStatus.Ok) {
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
   * Response-path contract for learning: pin the room to `address` (the pod Envoy's load balancer chose)
   * unless another request pinned it first. Returns the address the room is pinned to afterwards.
   */
  learn(fingerprint: u64, now: u32, address: string): Resolution {
    return this.resolve(fingerprint, now, new FixedPlacement(address, ""));
  }

  /**
   * Response-path contract for a pin the gateway did not honour (the pinned pod was not usable, so its
   * load balancer chose `actual`): move the room to `actual` unless someone already moved it elsewhere.
   */
  correct(fingerprint: u64, now: u32, pinned: string, actual: string): Resolution {
    return this.resolve(fingerprint, now, new FixedPlacement(actual, pinned));
  }
}

/** Keeps any pin except one to `replaced`, and places new (or re-placed) rooms on `address`. */
export class FixedPlacement extends PinPolicy {
  constructor(public address: string, public replaced: string) { super(); }
  keepsPin(address: string): bool { return address != this.replaced; }
  place(fingerprint: u64): string { return this.address; }
}
