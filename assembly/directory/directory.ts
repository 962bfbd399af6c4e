// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The shared room directory, host-free: which room lookups are in flight and which paused joins wait
// for each (concurrent joins of one room share one lookup), the cap on lookups in flight, the writes
// that make the first writer win across gateway replicas, the write lease that makes entries expire,
// and the list of failed pods the replicas share. plugin/directory-coordinator.ts sends through a DirectoryTransport and applies the events
// this returns.
//
// Bounded by design: a join waits at most the configured timeout (the host's call timeout, and a
// tick-driven backstop at twice it), at most maxLookupsInFlight lookups per worker are in flight
// (joins beyond fail open at once), and every failure fails open: the join proceeds on the local
// table and the gateway's hash.
import { DirectoryConfig } from "../config/config";
import { hex64 } from "../support/hash";
import { DirectoryProtocol, DirectoryRequest, StoreReply, ReplyKind, Operation } from "./protocol";

/** How directory requests leave the plugin (an HTTP call to etcd, a Redis call on Higress). */
export abstract class DirectoryTransport {
  /** The stream the calling hook serves (0 in root hooks): transports dispatch from the root and restore it. */
  currentStream: u32 = 0;
  /** Sends `request`; the token that identifies the reply, or -1 if it could not be sent. */
  abstract send(request: DirectoryRequest): i64;
}

export const enum CallKind {
  Lookup = 0,
  Claim = 1,
  Move = 2,
  Refresh = 3,
  Lease = 4,
  /** The pods that failed lately, as the replicas shared them (FAILED_PODS_KEY). */
  FailuresRead = 5,
  /** The list written where none was (put-if-absent), or in place of the one read (compare-and-replace). */
  FailuresClaim = 6,
  FailuresReplace = 7,
}

function isFailuresCall(kind: CallKind): bool {
  return kind >= CallKind.FailuresRead;
}

class Call {
  constructor(
    public kind: CallKind,
    public fingerprint: u64,
    public value: string,
    public sentMs: u64,
  ) {}
}

export const enum LookupStart {
  /** The join waits for a lookup (its own, or one already in flight for the room). */
  Waiting = 0,
  /** Too many lookups in flight: the join proceeds at once without the directory. */
  Busy = 1,
  /** The lookup could not be sent: the join proceeds at once without the directory. */
  Failed = 2,
}

export const enum EventKind {
  /** A lookup finished: resume `waiters`, pinned to `address` when it is not "". */
  LookupDone = 0,
  /** A write (claim, move, refresh) came back; `address` is the directory's pod when ours lost. */
  WriteDone = 1,
  LeaseDone = 2,
  /** The shared list of failed pods was read (`address` holds it, "" if absent) or written. */
  FailuresDone = 3,
}

export class DirectoryEvent {
  kind: EventKind = EventKind.LookupDone;
  callKind: CallKind = CallKind.Lookup;
  fingerprint: u64 = 0;
  /**
   * LookupDone: the room's pod in the directory, "" if absent or failed. WriteDone: the winner, "" if ours
   * stands. FailuresDone after a read: the shared failed-pod list, "" if absent or failed.
   */
  address: string = "";
  /** What this replica wrote or holds (WriteDone). */
  ours: string = "";
  waiters: u32[] = [];
  /** Why the call failed ("" if it did not): timeout, connection failure, a status, or a malformed reply. */
  failure: string = "";
  /** The call timed out (no reply within the timeout). */
  timedOut: bool = false;
  /** A move or refresh found the room absent (expired, or never written): a claim of it went out instead. */
  reclaimed: bool = false;
  /** From the call's dispatch to its reply or failure; -1 when no call was made (a replaced configuration). */
  elapsedMs: i64 = -1;
}

/** An address as the directory may hold one: "ip:port" or "[v6]:port", nothing else. */
export function isPodAddress(s: string): bool {
  if (s.length < 3 || s.length > 64) return false;
  const colon = s.lastIndexOf(":");
  if (colon <= 0 || colon == s.length - 1) return false;
  for (let i = colon + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  for (let i = 0; i < colon; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c == 0x2e || c == 0x3a || c == 0x5b || c == 0x5d;
    if (!ok) return false;
  }
  return true;
}

/** The key of the pods that failed lately, after keyPrefix: no room's key (16 hex digits) can be it. */
export const FAILED_PODS_KEY = "failed-pods";

export class RoomDirectory {
  private calls: Map<i64, Call> = new Map();
  /** Rooms with a lookup in flight -> the paused streams waiting for it. */
  private waiting: Map<u64, u32[]> = new Map();
  /** The lease this replica's writes attach to ("" until granted), and when it was granted. */
  lease: string = "";
  private leaseAtMs: u64 = 0;
  private leaseRequested: bool = false;
  /** A read or write of the failed-pod list is in flight: one at a time. */
  private failuresCall: bool = false;

  /** Entries expire this long after their last write (stores that expire keys themselves). */
  private ttlMs: i64;

  constructor(
    public readonly config: DirectoryConfig,
    public readonly ttlSeconds: i32,
    private protocol: DirectoryProtocol,
    private transport: DirectoryTransport,
  ) {
    this.ttlMs = (<i64>ttlSeconds + <i64>config.refreshSeconds) * 1000;
    // A store without leases needs none to write.
    if (!protocol.usesLeases) this.lease = "-";
  }

  keyOf(fingerprint: u64): string {
    return this.config.keyPrefix + hex64(fingerprint);
  }

  private get failuresKey(): string {
    return this.config.keyPrefix + FAILED_PODS_KEY;
  }
  /**
   * on_tick (lease holder): reads the failed-pod list the replicas share, unless a read or write of it
   * is still in flight. False when nothing went out.
   */
  readFailures(nowMs: u64): bool {
    if (this.failuresCall) return false;
    const token = this.transport.send(this.protocol.lookup(this.failuresKey));
    if (token < 0) return false;
    this.calls.set(token, new Call(CallKind.FailuresRead, 0, "", nowMs));
    this.failuresCall = true;
    return true;
  }

  /**
   * After a read of the list: writes `list` in place of `read` (what the read found; "" when absent, then
   * only if still absent). A replica that wrote in between wins; the next read merges again.
   */
  writeFailures(read: string, list: string, nowMs: u64): bool {
    if (this.failuresCall || this.lease.length == 0) return false;
    const key = this.failuresKey;
    const request =
      read.length == 0
        ? this.protocol.claim(key, list, this.lease, this.ttlMs)
        : this.protocol.replace(key, read, list, this.lease, this.ttlMs);
    const token = this.transport.send(request);
    if (token < 0) return false;
    this.calls.set(token, new Call(read.length == 0 ? CallKind.FailuresClaim : CallKind.FailuresReplace, 0, list, nowMs));
    this.failuresCall = true;
    return true;
  }

  /** on_http_call_response, on_redis_call_response: whether `token` is a call of this directory's still waiting for its reply. */
  owns(token: i64): bool {
    return this.calls.has(token);
  }

  /** on_request_headers, on a local miss: make stream `streamId` wait for the room's lookup. */
  lookup(fingerprint: u64, streamId: u32, nowMs: u64): LookupStart {
    if (this.waiting.has(fingerprint)) {
      this.waiting.get(fingerprint).push(streamId);
      return LookupStart.Waiting;
    }
    if (this.waiting.size >= this.config.maxLookupsInFlight) return LookupStart.Busy;
    const token = this.transport.send(this.protocol.lookup(this.keyOf(fingerprint)));
    if (token < 0) return LookupStart.Failed;
    this.calls.set(token, new Call(CallKind.Lookup, fingerprint, "", nowMs));
    this.waiting.set(fingerprint, [streamId]);
    return LookupStart.Waiting;
  }

  /** on_response_headers, a new room's 101: record `address` unless another replica did first. */
  claim(fingerprint: u64, address: string, nowMs: u64): bool {
    if (this.lease.length == 0) return false;
    return this.send(
      CallKind.Claim,
      fingerprint,
      address,
      this.protocol.claim(this.keyOf(fingerprint), address, this.lease, this.ttlMs),
      nowMs,
    );
  }

  /** on_response_headers, a re-pin's 101: move the room from `from` to `to` unless it moved already. */
  move(fingerprint: u64, from: string, to: string, nowMs: u64): bool {
    if (this.lease.length == 0) return false;
    return this.send(
      CallKind.Move,
      fingerprint,
      to,
      this.protocol.replace(this.keyOf(fingerprint), from, to, this.lease, this.ttlMs),
      nowMs,
    );
  }

  /**
   * on_request_headers, a join of a room this replica knows, at most once per refresh interval:
   * re-validate it against the directory (and move it to the current lease, so it does not expire).
   */
  refresh(fingerprint: u64, address: string, nowMs: u64): bool {
    if (this.lease.length == 0) return false;
    return this.send(
      CallKind.Refresh,
      fingerprint,
      address,
      this.protocol.replace(this.keyOf(fingerprint), address, address, this.lease, this.ttlMs),
      nowMs,
    );
  }

  private send(kind: CallKind, fingerprint: u64, value: string, request: DirectoryRequest, nowMs: u64): bool {
    // Bounded like lookups: a 101 may wait for a claim or a move (directory-coordinator.ts), never longer than the timeout.
    if (this.calls.size >= this.config.maxLookupsInFlight * 2) return false;
    const token = this.transport.send(request);
    if (token < 0) return false;
    this.calls.set(token, new Call(kind, fingerprint, value, nowMs));
    return true;
  }

  /**
   * on_tick: grants a new write lease every refresh interval (an entry lives entryTtlSeconds
   * plus up to one interval after its last refresh), and returns lookups stuck past twice the timeout
   * (the host never answered) as failed, so their joins resume.
   */
  onTick(nowMs: u64): DirectoryEvent[] {
    const interval = <u64>this.config.refreshSeconds * 1000;
    if (this.protocol.usesLeases && !this.leaseRequested && (this.lease.length == 0 || nowMs - this.leaseAtMs >= interval)) {
      const token = this.transport.send(this.protocol.grantLease(<i64>this.ttlSeconds + <i64>this.config.refreshSeconds));
      if (token >= 0) {
        this.calls.set(token, new Call(CallKind.Lease, 0, "", nowMs));
        this.leaseRequested = true;
      }
    }
    const out = new Array<DirectoryEvent>(0);
    const limit = <u64>this.config.timeoutMs * 2;
    const tokens = this.calls.keys();
    for (let i = 0; i < tokens.length; i++) {
      const c = this.calls.get(tokens[i]);
      if (nowMs - c.sentMs < limit) continue;
      this.calls.delete(tokens[i]);
      if (c.kind == CallKind.Lease) this.leaseRequested = false;
      if (isFailuresCall(c.kind)) this.failuresCall = false;
      const e = this.failed(c, "no reply within " + limit.toString() + " ms", nowMs);
      e.timedOut = true;
      out.push(e);
    }
    return out;
  }

  /**
   * on_http_call_response, on_redis_call_response: `failure` is "" when the transport
   * delivered a reply, else why not; `timedOut` when nothing came back in time. Returns null for a
   * token that is not the directory's.
   */
  onReply(token: i64, failure: string, timedOut: bool, body: Uint8Array, nowMs: u64): DirectoryEvent | null {
    if (!this.calls.has(token)) return null;
    const c = this.calls.get(token);
    this.calls.delete(token);
    if (c.kind == CallKind.Lease) this.leaseRequested = false;
    if (isFailuresCall(c.kind)) this.failuresCall = false;
    if (failure.length > 0) {
      const e = this.failed(c, failure, nowMs);
      e.timedOut = timedOut;
      return e;
    }
    const op =
      c.kind == CallKind.Lookup || c.kind == CallKind.FailuresRead
        ? Operation.Lookup
        : c.kind == CallKind.Lease
          ? Operation.Lease
          : c.kind == CallKind.Claim || c.kind == CallKind.FailuresClaim
            ? Operation.Claim
            : Operation.Replace;
    const reply: StoreReply = this.protocol.parse(op, body);
    if (reply.kind == ReplyKind.Invalid) return this.failed(c, reply.error, nowMs);
    if (isFailuresCall(c.kind)) {
      // The list is checked where it is used (membership/pod-times.ts parses it line by line).
      const f = new DirectoryEvent();
      f.kind = EventKind.FailuresDone;
      f.callKind = c.kind;
      f.elapsedMs = <i64>(nowMs - c.sentMs);
      f.ours = c.value;
      if (c.kind == CallKind.FailuresRead && reply.kind == ReplyKind.Found) f.address = reply.value;
      return f;
    }
    if (reply.kind == ReplyKind.Found && !isPodAddress(reply.value))
      return this.failed(c, "holds a value that is not a pod address", nowMs);

    const e = new DirectoryEvent();
    e.elapsedMs = <i64>(nowMs - c.sentMs);
    e.callKind = c.kind;
    e.fingerprint = c.fingerprint;
    e.ours = c.value;
    switch (c.kind) {
      case CallKind.Lease:
        e.kind = EventKind.LeaseDone;
        this.lease = reply.lease;
        this.leaseAtMs = nowMs;
        break;
      case CallKind.Lookup:
        e.kind = EventKind.LookupDone;
        if (reply.kind == ReplyKind.Found) e.address = reply.value;
        e.waiters = this.takeWaiters(c.fingerprint);
        break;
      default:
        e.kind = EventKind.WriteDone;
        if (reply.kind == ReplyKind.Found && reply.value != c.value) e.address = reply.value;
        // A refresh or move of an entry that expired (or a store that lost it): record it again.
        if (reply.kind == ReplyKind.Absent && c.kind != CallKind.Claim) e.reclaimed = this.claim(c.fingerprint, c.value, nowMs);
    }
    return e;
  }

  /** on_configure, for the instance being replaced: every waiting join, failed open now. */
  abandon(): DirectoryEvent[] {
    const out = new Array<DirectoryEvent>(0);
    const rooms = this.waiting.keys();
    for (let i = 0; i < rooms.length; i++) {
      const e = new DirectoryEvent();
      e.fingerprint = rooms[i];
      e.waiters = this.waiting.get(rooms[i]);
      e.failure = "configuration replaced while waiting";
      out.push(e);
    }
    this.waiting.clear();
    this.calls.clear();
    return out;
  }

  private takeWaiters(fingerprint: u64): u32[] {
    if (!this.waiting.has(fingerprint)) return [];
    const w = this.waiting.get(fingerprint);
    this.waiting.delete(fingerprint);
    return w;
  }

  private failed(c: Call, why: string, nowMs: u64): DirectoryEvent {
    const e = new DirectoryEvent();
    e.elapsedMs = <i64>(nowMs - c.sentMs);
    e.kind =
      c.kind == CallKind.Lookup
        ? EventKind.LookupDone
        : c.kind == CallKind.Lease
          ? EventKind.LeaseDone
          : isFailuresCall(c.kind)
            ? EventKind.FailuresDone
            : EventKind.WriteDone;
    e.callKind = c.kind;
    e.fingerprint = c.fingerprint;
    e.ours = c.value;
    e.failure = why;
    if (c.kind == CallKind.Lookup) e.waiters = this.takeWaiters(c.fingerprint);
    return e;
  }
}
