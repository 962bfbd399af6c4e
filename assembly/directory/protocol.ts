// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What the room directory asks of a store, whatever the store: a lookup, a put-if-absent (first
// writer wins), a compare-and-replace, optionally a lease; and one reply shape for all of them.
// etcd.ts and redis.ts implement it; directory.ts drives it without knowing which.

export const enum ReplyKind {
  /** The key holds `value` (a lookup, or the winner of a write that lost). */
  Found = 0,
  /** The key does not exist. */
  Absent = 1,
  /** The write was applied. */
  Written = 2,
  /** A lease was granted: `lease` is its id. */
  Lease = 3,
  /** Not a reply of the expected shape, or a store error: `error` says why. */
  Invalid = 4,
}

export class StoreReply {
  kind: ReplyKind = ReplyKind.Invalid;
  value: string = "";
  lease: string = "";
  error: string = "";
  static invalid(error: string): StoreReply {
    const r = new StoreReply();
    r.error = error;
    return r;
  }
  static of(kind: ReplyKind, value: string = ""): StoreReply {
    const r = new StoreReply();
    r.kind = kind;
    r.value = value;
    return r;
  }
}

/** One request to the store: an HTTP path and body (etcd), or a RESP command in `body` (Redis). */
export class DirectoryRequest {
  constructor(
    public path: string,
    public body: string,
  ) {}
}

export const enum Operation {
  Lookup = 0,
  /** Put if absent; on loss, the reply carries the winner. */
  Claim = 1,
  /** Compare-and-replace; on loss, the reply carries what the key holds (or Absent). */
  Replace = 2,
  Lease = 3,
}

export abstract class DirectoryProtocol {
  /** Whether entries expire through leases this replica must grant (etcd) or by themselves (Redis PX). */
  abstract get usesLeases(): bool;
  abstract lookup(key: string): DirectoryRequest;
  /** `lease` is "" for stores without leases; `ttlMs` is used by stores that expire keys themselves. */
  abstract claim(key: string, value: string, lease: string, ttlMs: i64): DirectoryRequest;
  abstract replace(key: string, expected: string, value: string, lease: string, ttlMs: i64): DirectoryRequest;
  abstract grantLease(ttlSeconds: i64): DirectoryRequest;
  /** The reply of `op` as one shape; never traps on any input. */
  abstract parse(op: Operation, reply: Uint8Array): StoreReply;
}
