// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A stream's hooks: each reads the facts (host-facts.ts), asks the instance's decider, and applies
// the decision in one place (applyRequest, applyResponse).
import { HttpContext } from "../abi/context";
import { FilterHeadersStatus, MapType } from "../abi/imports";
import { sendLocalResponse, replaceHeaderBytes, logDebug } from "../abi/host";
import { RequestHeaders } from "../abi/request-headers";
import { LogOnce } from "../abi/log-once";
import { hex64Into } from "../support/hash";
import {
  RequestFacts,
  RequestDecision,
  RequestAction,
  StreamState,
  NOTHING_PINNED,
  ResponseAction,
  ResponseDecision,
  requestLabel,
  responseLabel,
} from "../request/decision";
import { LocalReply, rejectionReply, ROOM_ELSEWHERE } from "../request/local-replies";
import { Outcome, Resolution } from "../table/table";
import { PluginInstance } from "./instance";
import { FallbackHeader } from "./fallback-header";
import { PausedJoin, RecordStart } from "./directory-coordinator";
import { HOST_FACTS, ResponseFacts, nowMillis, readRequestFacts, readResponseFacts } from "./host-facts";
import { logDecision } from "./access-log";
import { RoomAffinityRoot } from "./root";

/** The hashHeader value of the request being decided, rewritten for each (the host copies it at once). */
const ROOM_HASH_VALUE = new ArrayBuffer(16);
const DEPLOYMENT_PROBLEMS = new LogOnce();
/** Players sent apart are expected now and then while membership changes; this many means a gateway that does not hash. */
const CONFLICTS_BEFORE_ALARM: u32 = 20;
// The request being decided: its facts, its decision and where the table found its room, one object
// each, rewritten by every request hook (a join allocates none of them; nothing keeps them past the hook).
const REQUEST_FACTS = new RequestFacts();
const REQUEST_DECISION = new RequestDecision();
const REQUEST_RESOLUTION = new Resolution();

/**
 * fallbackHeader for a request decided: a pinned room's next pods, a new room's pods (so its players meet
 * on one pod even when their joins are retried; a directory's answer replaces it with the pin's), or none.
 */
function writeFallback(fallback: FallbackHeader, d: RequestDecision, facts: RequestFacts, headers: RequestHeaders): void {
  if (d.action == RequestAction.Pin) {
    fallback.writeForPin(d.fingerprint, d.address, facts.nowMs, headers);
    return;
  }
  const cluster = d.action == RequestAction.Learn ? facts.cluster : null;
  if (cluster != null) fallback.writeForNewRoom(d.fingerprint, cluster, headers);
  else fallback.remove(headers);
}

function sendReply(r: LocalReply): void {
  sendLocalResponse(r.status, r.details, r.body, r.headers);
}

/** Resumes this stream's join after a directory lookup (see directory-coordinator.ts). */
class DirectoryWait extends PausedJoin {
  constructor(private readonly stream: RoomAffinityStream) {
    super();
  }
  resume(address: string, leftPod: string): void {
    if (address.length > 0) this.stream.pinnedByDirectory(address);
    else if (leftPod.length > 0) this.stream.movingOff(leftPod);
  }
}

export class RoomAffinityStream extends HttpContext {
  /** Set by the request phase of a configured instance; the response phase needs both. */
  private inst: PluginInstance | null = null;
  private state: StreamState = NOTHING_PINNED;

  constructor(
    id: u32,
    public root: RoomAffinityRoot,
  ) {
    super(id);
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const inst = this.root.instance;
    if (inst == null) return FilterHeadersStatus.Continue;
    this.inst = inst;
    const facts = REQUEST_FACTS;
    const headers = readRequestFacts(inst, facts);
    const d = inst.decider.decide(facts, REQUEST_DECISION, REQUEST_RESOLUTION);
    this.state = inst.decider.streamState(d, facts);
    return this.applyRequest(inst, d, facts, headers);
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const inst = this.inst;
    if (inst == null) return FilterHeadersStatus.Continue;
    const s = this.state;
    const r = readResponseFacts(inst, s);
    const d = inst.decider.afterResponse(s, r.upstream, r.status, HOST_FACTS);
    const res = d.resolution;
    if (res == null || res.outcome != Outcome.Pending) return this.applyResponse(inst, s, r, d);
    return this.settleThroughDirectory(inst, s, r, d);
  }

  /**
   * on_http_call_response, on_redis_call_response (a directory reply): the paused join resumes, pinned
   * to the room's pod if the directory had one.
   */
  pinnedByDirectory(address: string): void {
    const inst = this.inst;
    if (address.length == 0 || inst == null) return;
    inst.pinWriter.pin(address);
    this.followDirectory(inst, address, "found");
  }

  /**
   * on_http_call_response, on_redis_call_response: the directory holds this new-to-us room on a pod that
   * has left. The join goes where the gateway sends it, and its 101 records a move off that pod, as a
   * join pinned to it would (another replica's players make the same move instead of being refused).
   */
  movingOff(leftPod: string): void {
    const inst = this.inst;
    if (inst != null) this.followDirectory(inst, leftPod, "departed");
  }

  /** The paused join takes the directory's pod as its pin: the room's next pods, and what its 101 checks. */
  private followDirectory(inst: PluginInstance, pod: string, label: string): void {
    const fallback = inst.fallbackHeader;
    if (fallback != null) fallback.writeForPin(this.state.fingerprint, pod, nowMillis(), null);
    this.state.pinned = pod;
    this.state.learning = false;
    if (inst.config.logDecision) logDecision(null, label);
  }

  private applyRequest(inst: PluginInstance, d: RequestDecision, facts: RequestFacts, headers: RequestHeaders): FilterHeadersStatus {
    const m = this.root.metrics;
    m.countRequest(d);
    if (inst.config.logDecision) logDecision(d.key, requestLabel(d));
    if (d.action == RequestAction.Reject) {
      sendReply(rejectionReply(d));
      return FilterHeadersStatus.StopIteration;
    }
    // A client-sent pin must never reach the pin mechanism; a pin the plugin writes overwrites it, so
    // only requests the plugin does not pin (now) need it removed: one host call less per hit.
    const pins = d.action == RequestAction.Pin && !d.podDown;
    if (!pins) inst.pinWriter.sanitizeRequest(headers);
    const fallback = inst.fallbackHeader;
    if (fallback != null) writeFallback(fallback, d, facts, headers);
    if (d.action == RequestAction.PassThrough) {
      // Only the plugin says which room a request belongs to.
      headers.remove(inst.hashHeaderName);
      return FilterHeadersStatus.Continue;
    }
    // Every request of a room carries its hash: the gateway's load balancer places a new room with it,
    // and falls back to it for a pin it cannot honour, the same way for every player of the room.
    // The value is RequestDecision.roomHash, written into a reused buffer.
    replaceHeaderBytes(MapType.HttpRequestHeaders, inst.hashHeaderName, hex64Into(ROOM_HASH_VALUE, d.keyHash));
    // Read by the decision, unless it assumed the cluster (then membership needs no refresh now).
    if (facts.clusterRead) {
      const cluster = facts.cluster;
      if (cluster != null) inst.membership.observe(cluster, facts.nowMs);
    }
    const dir = inst.directory;
    if (dir != null) {
      // A room this replica does not know: another replica may have placed it. Ask, and wait.
      if (d.action == RequestAction.Learn && dir.lookup(this.id, new DirectoryWait(this), d.fingerprint, facts.nowMs)) {
        return FilterHeadersStatus.StopIteration;
      }
      if (d.action == RequestAction.Pin && d.resolution!.refreshed) dir.refresh(this.id, d.fingerprint, d.address, facts.nowMs);
    }
    // A pin to a pod that went down since the room was last joined is not written: the join goes where
    // the room's retried joins go (fallbackHeader's next pod, or the hash among the pods left), at once.
    if (pins) {
      inst.pinWriter.pin(d.address);
      if (d.adopted && this.root.debugEnabled) {
        logDebug(
          "room-affinity: carried room " +
            String.UTF8.decodeUnsafe(d.key!.dataStart, d.key!.length) +
            " over from a previous table to " +
            d.address,
        );
      }
    }
    return FilterHeadersStatus.Continue;
  }

  private applyResponse(inst: PluginInstance, s: StreamState, r: ResponseFacts, d: ResponseDecision): FilterHeadersStatus {
    const m = this.root.metrics;
    if (inst.config.logDecision) {
      const label = responseLabel(d);
      if (label.length > 0) logDecision(null, label);
    }
    if (r.pinUnread && d.action == ResponseAction.Corrected) {
      m.inc(m.pinUnread);
      DEPLOYMENT_PROBLEMS.error(
        "pin-unread",
        "a pin to " +
          s.pinned +
          " was not honoured and the pin mechanism never read it: " +
          "stateful_session must read the header named by pinHeader ('" +
          inst.config.pinHeader +
          "'); until it does, " +
          "clients can choose their pod and rooms move on every membership change",
      );
    }
    if (d.action != ResponseAction.None) inst.pinWriter.sanitizeResponse();
    m.countResponse(d);
    if (d.conflict) {
      // This player reached another pod than its room's: refuse the upgrade so its retry (pinned now)
      // joins the room instead of playing alone.
      if (++this.root.conflicts == CONFLICTS_BEFORE_ALARM) {
        DEPLOYMENT_PROBLEMS.error(
          "learn-conflict",
          CONFLICTS_BEFORE_ALARM.toString() +
            " players reached another pod than " +
            "their room's (latest: " +
            d.upstream +
            " instead of " +
            d.resolution!.address +
            "): unless membership was changing, " +
            "the gateway's load balancer does not hash on the header named by hashHeader ('" +
            inst.config.hashHeader +
            "') -- it must be MAGLEV or RING_HASH with a hash_policy on it (stock Envoy), a consistent hash on it (Higress)",
        );
      }
      sendReply(ROOM_ELSEWHERE);
      return FilterHeadersStatus.StopIteration;
    }
    return FilterHeadersStatus.Continue;
  }

  /**
   * A new room's 101, or a moved room's, with a directory: the directory settles the room's pod before
   * this player plays on it (directory-coordinator.ts holds the 101 until then). Where it cannot (no
   * write could go out, or it is failing), the table records the room now, as without a directory.
   */
  private settleThroughDirectory(inst: PluginInstance, s: StreamState, r: ResponseFacts, d: ResponseDecision): FilterHeadersStatus {
    const from = d.action == ResponseAction.Corrected ? s.pinned : "";
    const now = nowMillis();
    switch (inst.directory!.record(this.id, s.fingerprint, from, d.upstream, now)) {
      case RecordStart.Waiting:
        this.applyResponse(inst, s, r, d);
        return FilterHeadersStatus.StopIteration;
      case RecordStart.Elsewhere: {
        const m = this.root.metrics;
        inst.pinWriter.sanitizeResponse();
        m.inc(m.rejectElsewhere);
        if (inst.config.logDecision) logDecision(null, "elsewhere");
        sendReply(ROOM_ELSEWHERE);
        return FilterHeadersStatus.StopIteration;
      }
      default:
        return this.applyResponse(inst, s, r, inst.decider.commit(d.action, s, <u32>(now / 1000), d.upstream));
    }
  }
}
