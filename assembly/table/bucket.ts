// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The bucket byte format of the affinity table, in one place: the table reads and writes buckets
// through it, the sweeper scans them through it. Shared data has no key listing, so the table is a
// fixed number of buckets, each one shared-data value holding up to `bucketSize` entries.
//
// Layout: u8 format (1), u8 count, then per entry: u64 fingerprint, u32 lastSeen (s), u8 address
// length, address bytes ("ip:port"). Every reader validates lengths, so a truncated or corrupt
// value is reported as invalid, never read past its end.

export const FORMAT_V1: u8 = 1;
const HEADER: i32 = 2;
/** Bytes of an entry before its address. */
const ENTRY_FIXED: i32 = 8 + 4 + 1;
const OFF_SEEN: i32 = 8;
const OFF_ALEN: i32 = 12;
/** At most 255 entries fit the count byte; config caps bucketSize far below. */
export const MAX_BUCKET_ENTRIES: i32 = 255;

/** One pinned room. The room key itself is not stored, only its 64-bit fingerprint (~27 B per entry). */
export class Entry {
  constructor(
    public fingerprint: u64,
    public lastSeen: u32,
    public address: string,
  ) {}
}

/** The expiry rule, for table and sweeper alike: an entry unseen for more than `ttl` seconds is gone. */
export function isExpired(lastSeen: u32, now: u32, ttl: u32): bool {
  return now > lastSeen && now - lastSeen > ttl;
}

/** Buckets for a capacity: the geometry both the table and its configuration derive from. */
export function bucketCountFor(capacity: i32, bucketSize: i32): i32 {
  return (capacity + bucketSize - 1) / bucketSize;
}

export function encodeBucket(entries: Entry[]): Uint8Array {
  let size = HEADER;
  const addrs = new Array<ArrayBuffer>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    addrs[i] = String.UTF8.encode(entries[i].address);
    size += ENTRY_FIXED + addrs[i].byteLength;
  }
  const out = new Uint8Array(size);
  const base = out.dataStart;
  store<u8>(base, FORMAT_V1);
  store<u8>(base + 1, <u8>entries.length);
  let off: usize = HEADER;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const a = addrs[i];
    store<u64>(base + off, e.fingerprint);
    store<u32>(base + off + OFF_SEEN, e.lastSeen);
    store<u8>(base + off + OFF_ALEN, <u8>a.byteLength);
    memory.copy(base + off + ENTRY_FIXED, changetype<usize>(a), a.byteLength);
    off += ENTRY_FIXED + a.byteLength;
  }
  return out;
}

/**
 * Walks a raw bucket entry by entry without decoding it. `next()` moves to the next entry and
 * returns false at the end or on bad bytes; after the walk, `valid` says whether the whole value
 * was a well-formed bucket (an empty value is a valid empty bucket).
 */
export class BucketCursor {
  /** Offset of the current entry. */
  at: i32 = -1;
  valid: bool = true;
  private index: i32 = 0;
  private count: i32 = 0;
  private nextAt: i32 = HEADER;

  constructor(public bytes: Uint8Array) {
    this.reset(bytes);
  }

  /** Starts a walk of `bytes` (a cursor is reused from walk to walk). */
  reset(bytes: Uint8Array): BucketCursor {
    this.bytes = bytes;
    this.at = -1;
    this.valid = true;
    this.index = 0;
    this.count = 0;
    this.nextAt = HEADER;
    const n = bytes.length;
    // An empty value is an empty bucket (count stays 0).
    if (n > 0 && (n < HEADER || unchecked(bytes[0]) != FORMAT_V1)) {
      this.valid = false;
    } else if (n > 0) {
      this.count = <i32>unchecked(bytes[1]);
      if (this.count == 0 && n != HEADER) this.valid = false;
    }
    return this;
  }

  next(): bool {
    if (!this.valid || this.index >= this.count) return false;
    const n = this.bytes.length;
    const off = this.nextAt;
    if (off + ENTRY_FIXED > n) {
      this.valid = false;
      return false;
    }
    const end = off + ENTRY_FIXED + <i32>load<u8>(this.bytes.dataStart + off + OFF_ALEN);
    if (end > n) {
      this.valid = false;
      return false;
    }
    this.index++;
    // The last entry must end exactly at the end of the value.
    if (this.index == this.count && end != n) {
      this.valid = false;
      return false;
    }
    this.at = off;
    this.nextAt = end;
    return true;
  }

  get fingerprint(): u64 {
    return load<u64>(this.bytes.dataStart + this.at);
  }
  get lastSeen(): u32 {
    return load<u32>(this.bytes.dataStart + this.at + OFF_SEEN);
  }
  get addressPtr(): usize {
    return this.bytes.dataStart + this.at + ENTRY_FIXED;
  }
  get addressLength(): i32 {
    return <i32>load<u8>(this.bytes.dataStart + this.at + OFF_ALEN);
  }
  get address(): string {
    return String.UTF8.decodeUnsafe(this.addressPtr, <usize>this.addressLength);
  }
  /** Rewrites the current entry's lastSeen in place (the value is then written back by CAS). */
  setLastSeen(seen: u32): void {
    store<u32>(this.bytes.dataStart + this.at + OFF_SEEN, seen);
  }
}

/** Decodes a bucket; null when the bytes are not a valid bucket (never traps). */
export function decodeBucket(b: Uint8Array | null): Entry[] | null {
  const out = new Array<Entry>(0);
  if (b == null) return out;
  const c = new BucketCursor(b);
  while (c.next()) out.push(new Entry(c.fingerprint, c.lastSeen, c.address));
  return c.valid ? out : null;
}

/**
 * Positions a cursor on `fingerprint`'s entry: returns it, or null when absent or the bytes are
 * invalid (`valid` on a fresh cursor tells which). The join path uses it to read one entry of a
 * full bucket without decoding the others, through a `cursor` it reuses.
 */
export function findEntry(b: Uint8Array, fingerprint: u64, cursor: BucketCursor | null = null): BucketCursor | null {
  const c = cursor != null ? cursor.reset(b) : new BucketCursor(b);
  while (c.next()) if (c.fingerprint == fingerprint) return c;
  return null;
}
