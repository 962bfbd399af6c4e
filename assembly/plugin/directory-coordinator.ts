// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Between the hooks and the room directory: says which stream a call leaves for, pauses joins that wait
// for a lookup and resumes them, reads a reply only once the token is known to be the directory's, and
// applies what the directory finished to the local table and the metrics.
import { MapType, BufferType } from "../abi/imports";
import { getBuffer, getHeader, setEffectiveContext, continueRequest, STATUS_HEADER } from "../abi/host";
import { LogOnce } from "../abi/log-once";
import { RoomDirectory, DirectoryTransport, DirectoryEvent, EventKind, LookupStart } from "../directory/directory";
import { AffinityTable } from "../table/table";
import { ResponseAction, ResponseDecision } from "../request/decision";
import { Metrics } from "./metrics";

/** A join paused for a lookup, resumed when the lookup ends (pinned to `address` if one was found). */
export abstract class PausedJoin {
  abstract resume(address: string): void;
}

/** Whether a pod address read from the directory is one the gateway could route to now. */
export abstract class MembershipCheck {
  abstract routable(address: string): bool;
}

export class DirectoryCoordinator {
  /** Paused joins by stream id; each leaves when its lookup ends (bounded by the lookup timeout). */
  private paused: Map<u32, PausedJoin> = new Map();
  private readonly problems: LogOnce = new LogOnce();

  constructor(
    private readonly directory: RoomDirectory,
    private readonly transport: DirectoryTransport,
    private readonly table: AffinityTable,
    private readonly members: MembershipCheck,
    private readonly metrics: Metrics,
    private readonly rootId: u32,
  ) {}

  /**
   * on_request_headers, on a local miss: asks the directory for the room and returns true when
   * the join must pause until the answer (the hook then stops iteration).
   */
  lookup(streamId: u32, join: PausedJoin, fingerprint: u64, nowMs: u64): bool {
    this.transport.currentStream = streamId;
    const m = this.metrics;
    const started = this.directory.lookup(fingerprint, streamId, nowMs);
    if (started == LookupStart.Waiting) {
      m.inc(m.dirWaits);
      this.paused.set(streamId, join);
      return true;
    }
    m.inc(started == LookupStart.Busy ? m.dirBusy : m.dirFailures);
    return false;
  }

  /** on_request_headers: a join of a known room due for re-validation. */
  refresh(streamId: u32, fingerprint: u64, address: string, nowMs: u64): void {
    this.transport.currentStream = streamId;
    if (this.directory.refresh(fingerprint, address, nowMs)) this.metrics.inc(this.metrics.dirWrites);
  }

  /** on_response_headers: a new room's pod (first writer wins), or a room moved from `from`. */
  record(streamId: u32, fingerprint: u64, from: string, to: string, nowMs: u64): void {
    this.transport.currentStream = streamId;
    const sent = from.length == 0 ? this.directory.claim(fingerprint, to, nowMs) : this.directory.move(fingerprint, from, to, nowMs);
    if (sent) this.metrics.inc(this.metrics.dirWrites);
  }

  /** on_tick: leases, and lookups the host never answered. */
  onTick(nowMs: u64): void {
    this.transport.currentStream = 0;
    this.apply(this.directory.onTick(nowMs), nowMs);
  }

  /** on_http_call_response, on_redis_call_response: whether `token` is one of the directory's calls. */
  owns(token: u32): bool {
    return this.directory.owns(<i64>token);
  }

  /** on_http_call_response, for a token the directory owns. */
  onHttpReply(token: u32, headerCount: u32, bodySize: u32, nowMs: u64): void {
    let failure = "";
    if (headerCount == 0) failure = "no reply (timeout or connection failure)";
    else {
      const st = getHeader(MapType.HttpCallResponseHeaders, STATUS_HEADER);
      if (st == null || st != "200") failure = "answered " + (st == null ? "without a status" : st!);
    }
    this.onReply(token, failure, headerCount == 0, bodySize > 0 ? getBuffer(BufferType.HttpCallResponseBody, bodySize) : null, nowMs);
  }

  /** on_redis_call_response (Higress): status 0 delivers the reply in buffer 9; anything else failed. */
  onRedisReply(token: u32, status: u32, responseSize: u32, nowMs: u64): void {
    const failure = status == 0 ? "" : "Redis call failed (status " + status.toString() + ": network error or timeout)";
    const body = status == 0 && responseSize > 0 ? getBuffer(BufferType.RedisCallResponse, responseSize) : null;
    this.onReply(token, failure, status != 0, body, nowMs);
  }

  /** on_configure, for the instance being replaced: every paused join resumes now, unpinned. */
  abandon(nowMs: u64): void {
    this.apply(this.directory.abandon(), nowMs);
  }

  private onReply(token: u32, failure: string, timedOut: bool, body: Uint8Array | null, nowMs: u64): void {
    this.transport.currentStream = 0;
    const e = this.directory.onReply(<i64>token, failure, timedOut, body == null ? new Uint8Array(0) : body, nowMs);
    if (e != null) this.apply([e], nowMs);
  }

  /**
   * Applies what the directory finished. A lookup resumes its paused joins, pinned to the room's pod
   * when the directory has one the gateway can route to; a write this replica lost makes the local
   * table follow the directory's pod.
   */
  private apply(events: DirectoryEvent[], nowMs: u64): void {
    const m = this.metrics;
    const now = <u32>(nowMs / 1000);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.failure.length > 0) {
        m.inc(m.dirFailures);
        this.problems.warn(e.timedOut ? "timeout" : e.failure, "room directory call failed (joins go on without it): " + e.failure);
      }
      if (e.kind == EventKind.WriteDone && e.address.length > 0) {
        // Another replica recorded the room on another pod first: follow it from now on.
        m.inc(m.dirConflicts);
        m.countResponse(new ResponseDecision(ResponseAction.Corrected, this.table.correct(e.fingerprint, now, e.ours, e.address)));
      }
      if (e.kind != EventKind.LookupDone) continue;
      if (e.elapsedMs >= 0) m.set(m.dirLookupMs, <u64>e.elapsedMs);
      let address = e.address;
      if (e.failure.length == 0) m.inc(address.length > 0 ? m.dirFound : m.dirAbsent);
      if (address.length > 0 && !this.members.routable(address)) {
        m.inc(m.dirRejected);
        address = "";
      }
      // The room as the directory has it, in the local table too (the first writer here wins as well).
      if (address.length > 0) address = this.table.learn(e.fingerprint, now, address).address;
      this.resume(e.waiters, address);
    }
  }

  private resume(waiters: u32[], address: string): void {
    for (let k = 0; k < waiters.length; k++) {
      const id = waiters[k];
      if (!this.paused.has(id)) continue;
      const join = this.paused.get(id);
      this.paused.delete(id);
      if (!setEffectiveContext(id)) continue; // the player left while waiting
      join.resume(address);
      continueRequest();
    }
    setEffectiveContext(this.rootId);
  }
}
