// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Between the hooks and the room directory: says which stream a call leaves for, pauses joins that wait
// for a lookup and resumes them, holds the 101s that record a room until the directory has settled it,
// reads a reply only once the token is known to be the directory's, and applies what the directory
// finished to the local table and the metrics.
import { MapType, BufferType } from "../abi/imports";
import {
  getBuffer,
  getHeader,
  setEffectiveContext,
  continueRequest,
  continueResponse,
  sendLocalResponse,
  STATUS_HEADER,
} from "../abi/host";
import { LogOnce } from "../abi/log-once";
import { RoomDirectory, DirectoryTransport, DirectoryEvent, EventKind, LookupStart, CallKind, isPodAddress } from "../directory/directory";
import { PodTime, parsePodTimesText } from "../membership/pod-times";
import { ROOM_ELSEWHERE } from "../request/local-replies";
import { AffinityTable } from "../table/table";
import { ResponseAction, ResponseDecision } from "../request/decision";
import { Metrics } from "./metrics";
import { logDecision } from "./access-log";

/** A join paused for a lookup, resumed when the lookup ends (pinned to `address` if one was found). */
export abstract class PausedJoin {
  /**
   * The lookup ended: `address` is the room's pod to pin the join to, or "". `leftPod` is the pod the
   * directory holds the room on when that pod has left the cluster: the join is a move off it.
   */
  abstract resume(address: string, leftPod: string): void;
}

/** Upgrades of one room whose 101s wait for this worker's claim or move of it. */
class HeldRecord {
  streams: u32[] = [];
  constructor(
    /** The pod the room moves from ("" for a new room's claim) and the pod recorded. */
    public readonly from: string,
    public readonly to: string,
  ) {}
}

export const enum RecordStart {
  /** The write went out and the upgrade waits for it (the hook stops iteration). */
  Waiting = 0,
  /** Nothing to wait for (no write could go out, or the directory is failing): the table records the room now. */
  NotHeld = 1,
  /** Another player of this room here waits for its record on another pod: refuse this one. */
  Elsewhere = 2,
}

/** Whether a pod address read from the directory is one the gateway could route to now. */
export abstract class MembershipCheck {
  abstract routable(address: string): bool;
  /** Whether the pod left the cluster lately (not one this gateway has yet to learn of). */
  abstract hasLeft(address: string): bool;
  /** A join pinned to the pod went to another pod instead (see FailedPods in sweeper.ts). */
  abstract failedOver(address: string, nowMs: u64): void;
  /** The pods that failed lately here, as the directory shares them (pod-times.ts lines). */
  abstract failuresText(): string;
  /** Failures other replicas saw, merged into this gateway's list; how many were new or later here. */
  abstract mergeFailures(shared: PodTime[], nowMs: u64): i32;
}

export class DirectoryCoordinator {
  /** Paused joins by stream id; each leaves when its lookup ends (bounded by the lookup timeout). */
  private paused: Map<u32, PausedJoin> = new Map();
  /**
   * Upgrades whose 101 waits until the room's claim or move comes back, by room: a player must not start
   * playing on a pod that another replica's write may overrule. Each leaves with that write's reply
   * (bounded by the directory's timeout).
   */
  private held: Map<u64, HeldRecord> = new Map();
  /** The last directory call failed and none has succeeded since: 101s do not wait for a store that is down. */
  private failing: bool = false;
  private readonly problems: LogOnce = new LogOnce();

  constructor(
    private readonly directory: RoomDirectory,
    private readonly transport: DirectoryTransport,
    private readonly table: AffinityTable,
    private readonly members: MembershipCheck,
    private readonly metrics: Metrics,
    private readonly rootId: u32,
    /** `logDecision`: a held upgrade refused later says so in the access log. */
    private readonly logDecisions: bool = false,
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

  /**
   * on_response_headers, the 101 of a room the table does not hold on this pod yet: a new room's pod
   * (first writer wins), or a room moved from `from`. The upgrade waits for the directory's answer: it
   * is refused if another replica recorded the room on another pod first, and goes on otherwise (also
   * if the write fails); the table records the room's pod then. Players of the room that reach this
   * worker meanwhile wait for the same write.
   */
  record(streamId: u32, fingerprint: u64, from: string, to: string, nowMs: u64): RecordStart {
    const m = this.metrics;
    if (this.held.has(fingerprint)) {
      const h = this.held.get(fingerprint);
      if (h.to != to) return RecordStart.Elsewhere;
      h.streams.push(streamId);
      m.inc(m.dirHeld);
      return RecordStart.Waiting;
    }
    this.transport.currentStream = streamId;
    if (from.length > 0) this.members.failedOver(from, nowMs);
    const sent = from.length == 0 ? this.directory.claim(fingerprint, to, nowMs) : this.directory.move(fingerprint, from, to, nowMs);
    if (!sent) return RecordStart.NotHeld;
    m.inc(m.dirWrites);
    // A store that is failing still gets the write (it may be back), but nobody waits for it.
    if (this.failing) return RecordStart.NotHeld;
    m.inc(m.dirHeld);
    const h = new HeldRecord(from, to);
    h.streams.push(streamId);
    this.held.set(fingerprint, h);
    return RecordStart.Waiting;
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

  /**
   * on_tick (lease holder): pod failures go round the replicas through the directory. Its list is read;
   * failures seen only there join this gateway's list (the sweeper then drops the pins they make stale),
   * and failures seen only here, or later here, are written back (see mergeFailures).
   */
  shareFailures(nowMs: u64): void {
    this.transport.currentStream = 0;
    this.directory.readFailures(nowMs);
  }

  /** The directory's list of failed pods was read (`shared`, "" if absent): merge it both ways. */
  private mergeFailures(shared: string, nowMs: u64): void {
    const there = new Array<PodTime>(0);
    const parsed = parsePodTimesText(shared);
    for (let i = 0; i < parsed.length; i++) if (isPodAddress(parsed[i].address) && parsed[i].atMs > 0) there.push(parsed[i]);
    const learned = this.members.mergeFailures(there, nowMs);
    if (learned > 0) this.metrics.add(this.metrics.dirFailuresLearned, learned);
    const here = this.members.failuresText();
    if (laterHere(parsePodTimesText(here), there)) {
      this.transport.currentStream = 0;
      if (this.directory.writeFailures(shared, here, nowMs)) this.metrics.inc(this.metrics.dirWrites);
    }
  }

  /** on_configure, for the instance being replaced: every paused join resumes now, unpinned; every held upgrade goes on. */
  abandon(nowMs: u64): void {
    this.apply(this.directory.abandon(), nowMs);
    const rooms = this.held.keys();
    for (let i = 0; i < rooms.length; i++) this.settleHeld(rooms[i], "", <u32>(nowMs / 1000));
    this.held.clear();
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
      this.failing = e.failure.length > 0;
      if (e.failure.length > 0) {
        m.inc(m.dirFailures);
        this.problems.warn(e.timedOut ? "timeout" : e.failure, "room directory call failed (joins go on without it): " + e.failure);
      }
      if (e.kind == EventKind.FailuresDone) {
        if (e.failure.length == 0 && e.callKind == CallKind.FailuresRead) this.mergeFailures(e.address, nowMs);
        continue;
      }
      if (e.kind == EventKind.WriteDone) {
        const isHeld = (e.callKind == CallKind.Claim || e.callKind == CallKind.Move) && this.held.has(e.fingerprint);
        // A move that found the room absent went out again as a claim: its upgrades wait for that one.
        if (isHeld && e.reclaimed) continue;
        if (e.address.length > 0) {
          // Another replica recorded the room on another pod first: follow it from now on.
          m.inc(m.dirConflicts);
          m.countResponse(new ResponseDecision(ResponseAction.Corrected, this.table.settle(e.fingerprint, now, e.address)));
        }
        if (isHeld) this.settleHeld(e.fingerprint, e.address, now);
        continue;
      }
      if (e.kind != EventKind.LookupDone) continue;
      if (e.elapsedMs >= 0) m.set(m.dirLookupMs, <u64>e.elapsedMs);
      let address = e.address;
      let leftPod = "";
      if (e.failure.length == 0) m.inc(address.length > 0 ? m.dirFound : m.dirAbsent);
      if (address.length > 0 && !this.members.routable(address)) {
        m.inc(m.dirRejected);
        // A pod that left: its rooms move, and the 101 records a move off it, which every replica's
        // players make alike. A pod not known yet may be one another replica already routes to: the
        // 101 then claims the room, and loses to that replica's record.
        if (this.members.hasLeft(address)) leftPod = address;
        address = "";
      }
      // The room as the directory has it, in the local table too (the first writer here wins as well).
      if (address.length > 0) address = this.table.learn(e.fingerprint, now, address).address;
      this.resume(e.waiters, address, leftPod);
    }
  }

  /**
   * The write that held a room's upgrades came back. `winner` is another pod the directory holds the room
   * on: the upgrades are refused (503 room_elsewhere) and their players' retries are pinned to it.
   * Otherwise (the write stood, or failed: fail open) the table records the room's pod, first writer
   * wins on this replica, and the upgrades go on unless that pod is another.
   */
  private settleHeld(fingerprint: u64, winner: string, now: u32): void {
    const h = this.held.get(fingerprint);
    this.held.delete(fingerprint);
    const m = this.metrics;
    let refuse = winner.length > 0;
    if (!refuse) {
      const action = h.from.length == 0 ? ResponseAction.Learned : ResponseAction.Corrected;
      const d = new ResponseDecision(action, this.table.record(fingerprint, now, h.from, h.to), h.to);
      m.countResponse(d);
      refuse = d.conflict;
      if (refuse) m.add(m.rejectElsewhere, h.streams.length - 1); // countResponse counted one
    } else m.add(m.rejectElsewhere, h.streams.length);
    for (let k = 0; k < h.streams.length; k++) {
      if (!setEffectiveContext(h.streams[k])) continue; // the player left while waiting
      if (refuse) {
        if (this.logDecisions) logDecision(null, "elsewhere");
        sendLocalResponse(ROOM_ELSEWHERE.status, ROOM_ELSEWHERE.details, ROOM_ELSEWHERE.body, ROOM_ELSEWHERE.headers);
      } else continueResponse();
    }
    setEffectiveContext(this.rootId);
  }

  private resume(waiters: u32[], address: string, leftPod: string): void {
    for (let k = 0; k < waiters.length; k++) {
      const id = waiters[k];
      if (!this.paused.has(id)) continue;
      const join = this.paused.get(id);
      this.paused.delete(id);
      if (!setEffectiveContext(id)) continue; // the player left while waiting
      join.resume(address, leftPod);
      continueRequest();
    }
    setEffectiveContext(this.rootId);
  }
}

/** Whether `here` has a pod failure that `there` lacks, or a later one. */
function laterHere(here: PodTime[], there: PodTime[]): bool {
  for (let i = 0; i < here.length; i++) {
    let k = 0;
    while (k < there.length && there[k].address != here[i].address) k++;
    if (k == there.length || there[k].atMs < here[i].atMs) return true;
  }
  return false;
}
