// The hooks: each reads facts from the host, asks the configured instance (instance.ts) and its
// host-free decision (decision.ts), and applies the result.
import { RootContext, HttpContext } from "./abi/context";
import { FilterHeadersStatus, MapType, BufferType, LogLevel } from "./abi/imports";
import {
  getBuffer, getHeader, getHeaderBytes, getHeaderPairs, fromUtf8, getPropertyString, sendLocalResponse, setTickPeriodMs, replaceHeaderBytes, removeRequestHeader,
  nowNanos, logError, logWarn, logInfo, logDebug, hostLogLevel, hostCallFailures, setEffectiveContext, continueRequest, HostName, RepeatedProperty, STATUS_HEADER, setProperty,
} from "./abi/host";
import { collectInsideHook } from "./abi/collector";
import { findPairValue } from "./abi/pairs";
import { SharedDataStore } from "./shared-store";
import { parseConfig } from "./config";
import { stripPort } from "./rules";
import { hex64Into } from "./hash";
import {
  RequestFacts, DeferredFacts, RequestAction, StreamState, ResponseAction, ResponseDecision, DETAILS_ROOM_ELSEWHERE, upgradesToWebSocket, requestLabel, responseLabel,
} from "./decision";
import { Outcome } from "./table";
import { DirectoryEvent, EventKind, LookupStart } from "./directory/directory";
import { streams } from "./abi/context";
import { Platform } from "./platform/platform";
import { Metrics } from "./metrics";
import { PluginInstance, buildInstance } from "./instance";

function nowMillis(): u64 { return nowNanos() / 1000000; }

// Names and property paths the hooks use, encoded for the host once.
const UPGRADE = new HostName("upgrade");
const PATH = new HostName(":path");
const AUTHORITY = new HostName(":authority");
const CLUSTER_NAME = new RepeatedProperty(HostName.property(["xds", "cluster_name"]));
const ROUTE_NAME = HostName.property(["route_name"]);
const XDS_ROUTE_NAME = HostName.property(["xds", "route_name"]);
const UPSTREAM_ADDRESS = HostName.property(["upstream", "address"]);
const PLUGIN_NAME = HostName.property(["plugin_name"]);
/** The hashHeader value of the request being decided, rewritten for each (the host copies it at once). */
const ROOM_HASH_VALUE = new ArrayBuffer(16);

/** The host behind the facts a decision reads only when it needs them (one instance: no state). */
class HostFacts extends DeferredFacts {
  cluster(): string | null { return CLUSTER_NAME.read(); }
  nowMs(): u64 { return nowMillis(); }
}
const HOST_FACTS = new HostFacts();

/**
 * A pin whose mechanism says it held (no stateful_session echo) is verified against the upstream
 * address for the first PINS_VERIFIED_FIRST pins of a worker and one in PINS_VERIFIED_EVERY after:
 * enough to catch a stateful_session that reads another header, without a property read per join.
 */
const PINS_VERIFIED_FIRST: u32 = 16;
const PINS_VERIFIED_EVERY: u32 = 64;

export class RoomAffinityRoot extends RootContext {
  /** The configuration in force; replaced only by one that parsed. */
  instance: PluginInstance | null = null;
  readonly metrics: Metrics = new Metrics();
  readonly store: SharedDataStore = new SharedDataStore();
  /** Players refused because their room was on another pod (this thread, since start). */
  conflicts: u32 = 0;
  /** Pins whose mechanism said they held (this thread, since start); see PINS_VERIFIED_FIRST. */
  pinsHeld: u32 = 0;
  /** This VM's unexpected host statuses already added to the host_call_failures_total counter. */
  private hostCallFailuresPublished: u64 = 0;
  /** Whether the host logs debug lines; refreshed on configure and each tick, so per-pin log lines
   *  are only built when someone reads them. */
  debugEnabled: bool = false;

  constructor(id: u32, public platform: Platform) { super(id); }

  onConfigure(size: u32): bool {
    const raw: Uint8Array | null = size == 0 ? null : getBuffer(BufferType.PluginConfiguration, size);
    const result = parseConfig(raw == null ? new Uint8Array(0) : raw!);
    if (result.config == null) {
      logError("room-affinity: " + result.error);
      return false;
    }
    const unfit = this.platform.check(result.config!);
    if (unfit.length > 0) {
      logError("room-affinity: " + unfit);
      return false;
    }
    // Unique across threads and VMs: the root id plus the creation time in nanoseconds.
    const owner = this.id.toString() + "-" + nowNanos().toString();
    // The plugin's name keys the history of table geometries, so a new capacity keeps old pins.
    const name = getPropertyString(PLUGIN_NAME);
    const inst = buildInstance(result.config!, this.platform, this.store, this.metrics, owner, collectInsideHook,
      name == null ? "" : name!, nowMillis(), this.id);
    // Joins paused for the old configuration's directory must not wait for replies nobody will take.
    const old = this.instance;
    if (old != null) this.metrics.publish(old.decider.table.copies); // the replaced table's counts since the last tick
    if (old != null && old.directory != null) this.applyDirectory(old, old.directory!.abandon(), nowMillis());
    this.instance = inst;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    setTickPeriodMs(<u32>inst.config.tickPeriodMs);
    logInfo("room-affinity: configured: " + inst.describe());
    return true;
  }

  onTick(): void {
    const inst = this.instance;
    this.metrics.publish(inst == null ? null : inst.decider.table.copies);
    const failures = hostCallFailures();
    this.metrics.add(this.metrics.hostCallFailures, <i64>(failures - this.hostCallFailuresPublished));
    this.hostCallFailuresPublished = failures;
    if (inst == null) return;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    const nowMs = nowMillis();
    const m = this.metrics;
    // Every thread reports the age, so the gauge keeps rising if the lease holder stops refreshing.
    const age = inst.snapshots.freshestAgeMs(nowMs);
    if (age >= 0) m.set(m.snapshotAgeSeconds, <u64>age / 1000);
    const clusters = inst.decider.routedCluster.takeEnding();
    if (clusters.length > 0) {
      logInfo("room-affinity: keyed requests reach two clusters (" + clusters + "): this worker reads the routed " +
        "cluster on every join from now on (rooms are per cluster)");
    }
    const dir = inst.directory;
    if (dir != null) {
      inst.directoryTransport!.currentStream = 0;
      this.applyDirectory(inst, dir.onTick(nowMs), nowMs);
    }
    if (!inst.lease.tryHold(nowMs)) return;
    // With an asynchronous refresh in flight, sweep when it completes (fresh membership), else now.
    if (!inst.membership.refresh(nowMs)) this.sweep(inst, nowMs);
  }

  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32): void {
    const inst = this.instance;
    if (inst == null) return;
    const nowMs = nowMillis();
    const dir = inst.directory;
    if (dir != null) {
      let failure = "";
      if (headerCount == 0) failure = "no reply (timeout or connection failure)";
      else {
        const st = getHeader(MapType.HttpCallResponseHeaders, STATUS_HEADER);
        if (st == null || st != "200") failure = "answered " + (st == null ? "without a status" : st!);
      }
      let body = new Uint8Array(0);
      if (bodySize > 0) {
        const b = getBuffer(BufferType.HttpCallResponseBody, bodySize);
        if (b != null) body = b;
      }
      inst.directoryTransport!.currentStream = 0;
      const e = dir.onReply(<i64>token, failure, headerCount == 0, body, nowMs);
      if (e != null) {
        this.applyDirectory(inst, [e!], nowMs);
        return;
      }
    }
    if (inst.membership.onHttpCallResponse(token, bodySize, nowMs)) this.sweep(inst, nowMs);
  }

  /** Redis directory contract (Higress): status 0 delivers the reply in buffer 9; anything else failed. */
  onRedisCallResponse(token: u32, status: u32, responseSize: u32): void {
    const inst = this.instance;
    if (inst == null || inst.directory == null) return;
    const nowMs = nowMillis();
    let body = new Uint8Array(0);
    if (status == 0 && responseSize > 0) {
      const b = getBuffer(BufferType.RedisCallResponse, responseSize);
      if (b != null) body = b;
    }
    inst.directoryTransport!.currentStream = 0;
    const failure = status == 0 ? "" : "Redis call failed (status " + status.toString() + ": network error or timeout)";
    const e = inst.directory!.onReply(<i64>token, failure, status != 0, body, nowMs);
    if (e != null) this.applyDirectory(inst, [e!], nowMs);
  }

  /**
   * Directory contract: applies what the directory finished. A lookup resumes its paused joins, pinned
   * to the room's pod when the directory has one the cluster knows; a write this replica lost makes
   * the local table follow the directory's pod.
   */
  applyDirectory(inst: PluginInstance, events: DirectoryEvent[], nowMs: u64): void {
    const m = this.metrics;
    const now = <u32>(nowMs / 1000);
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.failure.length > 0) {
        m.inc(m.dirFailures);
        DIRECTORY_PROBLEMS.warn(e.timedOut ? "timeout" : e.failure, "room directory call failed (joins go on without it): " + e.failure);
      }
      if (e.kind == EventKind.WriteDone && e.address.length > 0) {
        // Another replica recorded the room on another pod first: follow it from now on.
        m.inc(m.dirConflicts);
        m.countResponse(new ResponseDecision(ResponseAction.Corrected, inst.decider.table.correct(e.fingerprint, now, e.ours, e.address)));
      }
      if (e.kind != EventKind.LookupDone) continue;
      if (e.elapsedMs >= 0) m.set(m.dirLookupMs, <u64>e.elapsedMs);
      let address = e.address;
      if (e.failure.length == 0) m.inc(address.length > 0 ? m.dirFound : m.dirAbsent);
      if (address.length > 0 && !inst.memberOfAnyCluster(address)) {
        m.inc(m.dirRejected);
        address = "";
      }
      // The room as the directory has it, in the local table too (the first writer here wins as well).
      if (address.length > 0) address = inst.decider.table.learn(e.fingerprint, now, address).address;
      for (let k = 0; k < e.waiters.length; k++) {
        const id = e.waiters[k];
        if (!setEffectiveContext(id) || !streams.has(id)) continue; // the player left while waiting
        const stream = changetype<RoomAffinityStream>(streams.get(id));
        if (address.length > 0) {
          inst.pinWriter.pin(address);
          stream.pinnedByDirectory(address);
        }
        continueRequest();
      }
      setEffectiveContext(this.id);
    }
  }

  /** Sweep contract (lease holder): one window of buckets against the current membership. */
  private sweep(inst: PluginInstance, nowMs: u64): void {
    const res = inst.sweeper.pass(<u32>(nowMs / 1000), inst.presentHosts());
    const m = this.metrics;
    m.add(m.sweptBuckets, res.bucketsVisited);
    m.add(m.evictedGone, res.evictedGone);
    m.add(m.evictedExpired, res.evictedExpired);
    if (res.cycleEntries >= 0) {
      m.set(m.tableEntries, <u64>res.cycleEntries);
      m.inc(m.sweepCycles);
    }
  }

  newHttpContext(id: u32): HttpContext {
    return new RoomAffinityStream(id, this);
  }

  /** Response-path contract: whether to verify this held pin against the upstream address (see PINS_VERIFIED_FIRST). */
  verifyHeldPin(): bool {
    const n = this.pinsHeld++;
    return n < PINS_VERIFIED_FIRST || n % PINS_VERIFIED_EVERY == 0;
  }
}

/** A request header's value: from all headers read at once (`all`), or by a host call of its own. */
function requestHeader(all: Uint8Array | null, name: HostName): Uint8Array | null {
  return all != null ? findPairValue(all!, name.bytes) : getHeaderBytes(MapType.HttpRequestHeaders, name);
}

/**
 * Request-headers contract: the facts the decision needs, read from the host; the routed cluster
 * and the clock are read later, only if the decision needs them (HOST_FACTS).
 */
function requestFacts(inst: PluginInstance): RequestFacts {
  const f = new RequestFacts();
  f.deferred = HOST_FACTS;
  // All headers in one read while that is the cheaper way (header-plan.ts); if it fails, one read each.
  const plan = inst.headerPlan;
  const all = plan.readsAllHeaders() ? getHeaderPairs(MapType.HttpRequestHeaders) : null;
  f.sentHeaders = all;
  f.isWebSocket = upgradesToWebSocket(requestHeader(all, UPGRADE));
  plan.record(f.isWebSocket);
  // A request every route passes through needs nothing more: read on its own, the path is a value
  // handed back, which costs Envoy more than the absent upgrade header did (BENCHMARKS.md prices both).
  if (!f.isWebSocket && inst.decider.passesEveryNonWebSocket) return f;
  const path = requestHeader(all, PATH);
  if (path != null) f.path = path;
  if (inst.decider.needsRouteFacts) {
    let routeName = getPropertyString(ROUTE_NAME);
    if (routeName == null) routeName = getPropertyString(XDS_ROUTE_NAME);
    if (routeName != null) f.routeName = routeName;
    const authority = requestHeader(all, AUTHORITY);
    if (authority != null) f.host = stripPort(fromUtf8(authority));
  }
  return f;
}

const KEY_PROPERTY = HostName.property(["room_affinity_key"]);
const DECISION_PROPERTY = HostName.property(["room_affinity_decision"]);

/** The decision labels, each encoded once: they are the same few words on every keyed request. */
const ENCODED_LABELS = new Map<string, Uint8Array>();

/** Access-log contract: the room key (when given) and the decision, as filter state (wasm.room_affinity_*). */
function logDecision(key: Uint8Array | null, label: string): void {
  if (key != null) setProperty(KEY_PROPERTY, key);
  if (!ENCODED_LABELS.has(label)) ENCODED_LABELS.set(label, Uint8Array.wrap(String.UTF8.encode(label)));
  setProperty(DECISION_PROPERTY, ENCODED_LABELS.get(label));
}

/** Logs each kind of problem once per worker thread (VM), not once per request. */
class OnceLog {
  private said: Set<string> = new Set();
  error(kind: string, message: string): void {
    if (this.said.has(kind)) return;
    this.said.add(kind);
    logError("room-affinity: " + message);
  }
  warn(kind: string, message: string): void {
    if (this.said.has(kind)) return;
    this.said.add(kind);
    logWarn("room-affinity: " + message);
  }
}
const DEPLOYMENT_PROBLEMS = new OnceLog();
const DIRECTORY_PROBLEMS = new OnceLog();
/** Players sent apart are expected now and then while membership changes; this many means a gateway that does not hash. */
const CONFLICTS_BEFORE_ALARM: u32 = 20;
/** The state of a stream before its request phase (never written: each request phase sets its own). */
const NOTHING_PINNED = new StreamState();

export class RoomAffinityStream extends HttpContext {
  /** Set by the request phase of a configured instance; the response phase needs both. */
  private inst: PluginInstance | null = null;
  private state: StreamState = NOTHING_PINNED;

  constructor(id: u32, public root: RoomAffinityRoot) { super(id); }

  /** Directory contract: the paused join was pinned to the room's pod found in the directory. */
  pinnedByDirectory(address: string): void {
    if (this.state == NOTHING_PINNED) return; // not reachable: only a request phase pauses a stream
    this.state.pinned = address;
    this.state.learning = false;
    if (this.inst != null && this.inst!.config.logDecision) logDecision(null, "found");
  }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    const inst = root.instance;
    if (inst == null) return FilterHeadersStatus.Continue;
    this.inst = inst;
    const facts = requestFacts(inst);
    const d = inst.decider.decide(facts);
    root.metrics.countRequest(d);
    this.state = inst.decider.streamState(d, facts);
    if (inst.config.logDecision) logDecision(d.key, requestLabel(d));
    if (d.action == RequestAction.Reject) {
      sendLocalResponse(d.status, d.details, d.body, [["content-type", "text/plain"]]);
      return FilterHeadersStatus.StopIteration;
    }
    // A client-sent pin must never reach the pin mechanism; a pin the plugin writes overwrites it, so
    // only requests the plugin does not pin (now) need it removed: one host call less per hit.
    // A header the client did not send needs no removal: with all headers read at once, that is known.
    if (d.action != RequestAction.Pin) inst.pinWriter.sanitizeRequest(facts.sentHeaders);
    const hashHeader = inst.hashHeaderName;
    if (d.action == RequestAction.PassThrough) {
      // Only the plugin says which room a request belongs to.
      removeRequestHeader(facts.sentHeaders, hashHeader);
      return FilterHeadersStatus.Continue;
    }
    // Every request of a room carries its hash: the gateway's load balancer places a new room with it,
    // and falls back to it for a pin it cannot honour, the same way for every player of the room.
    replaceHeaderBytes(MapType.HttpRequestHeaders, hashHeader, hex64Into(ROOM_HASH_VALUE, d.keyHash)); // see RequestDecision.roomHash
    // Read by the decision, unless it assumed the cluster (then membership needs no refresh now).
    if (facts.clusterRead) {
      const cluster = facts.cluster;
      if (cluster != null) inst.membership.observe(cluster, facts.nowMs);
    }
    const dir = inst.directory;
    if (dir != null) {
      inst.directoryTransport!.currentStream = this.id;
      const m = root.metrics;
      if (d.action == RequestAction.Learn) {
        // A room this replica does not know: another replica may have placed it. Ask, and wait.
        const started = dir.lookup(d.fingerprint, this.id, facts.nowMs);
        if (started == LookupStart.Waiting) {
          m.inc(m.dirWaits);
          return FilterHeadersStatus.StopIteration;
        }
        m.inc(started == LookupStart.Busy ? m.dirBusy : m.dirFailures);
      } else if (d.resolution!.refreshed) {
        if (dir.refresh(d.fingerprint, d.address, facts.nowMs)) m.inc(m.dirWrites);
      }
    }
    if (d.action == RequestAction.Pin) {
      inst.pinWriter.pin(d.address);
      if (d.adopted && root.debugEnabled) {
        logDebug("room-affinity: carried room " + String.UTF8.decodeUnsafe(d.key!.dataStart, d.key!.length) +
          " over from a previous table to " + d.address);
      }
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const inst = this.inst;
    if (inst == null) return FilterHeadersStatus.Continue;
    const s = this.state;
    // The upstream matters only to a stream that pinned or is learning. The common case, a join whose
    // pin held, asks the pin mechanism (one header read) and stops there.
    let upstream: string | null = null;
    let status: string | null = null;
    let pinUnread = false;
    if (s.pinned.length > 0 || s.learning) {
      const held = s.pinned.length > 0 && inst.pinWriter.pinHeld();
      if (held && !this.root.verifyHeldPin()) upstream = s.pinned;
      else {
        upstream = getPropertyString(UPSTREAM_ADDRESS);
        // The mechanism said the pin held, yet the gateway went elsewhere: it reads another header than ours.
        pinUnread = held && upstream != null && upstream != s.pinned;
      }
      if (upstream != null && upstream != s.pinned) status = getHeader(MapType.HttpResponseHeaders, STATUS_HEADER);
    }
    const d = inst.decider.afterResponse(s, upstream, status, HOST_FACTS);
    const m = this.root.metrics;
    if (inst.config.logDecision) {
      const label = responseLabel(d);
      if (label.length > 0) logDecision(null, label);
    }
    if (pinUnread && d.action == ResponseAction.Corrected) {
      m.inc(m.pinUnread);
      DEPLOYMENT_PROBLEMS.error("pin-unread", "a pin to " + s.pinned + " was not honoured and the pin mechanism never read it: " +
        "stateful_session must read the header named by pinHeader ('" + inst.config.pinHeader + "'); until it does, " +
        "clients can choose their pod and rooms move on every membership change");
    }
    if (d.conflict) {
      // This player reached another pod than its room's: refuse the upgrade so its retry (pinned now)
      // joins the room instead of playing alone.
      if (++this.root.conflicts == CONFLICTS_BEFORE_ALARM) {
        DEPLOYMENT_PROBLEMS.error("learn-conflict", CONFLICTS_BEFORE_ALARM.toString() + " players reached another pod than " +
          "their room's (latest: " + d.upstream + " instead of " + d.resolution!.address + "): unless membership was changing, " +
          "the gateway's load balancer does not hash on the header named by hashHeader ('" + inst.config.hashHeader +
          "') -- it must be MAGLEV or RING_HASH with a hash_policy on it (stock Envoy), a consistent hash on it (Higress)");
      }
      inst.pinWriter.sanitizeResponse();
      m.countResponse(d);
      sendLocalResponse(503, DETAILS_ROOM_ELSEWHERE, "room is on another pod; retry\n", [["content-type", "text/plain"], ["retry-after", "0"]]);
      return FilterHeadersStatus.StopIteration;
    }
    if (d.action != ResponseAction.None) inst.pinWriter.sanitizeResponse();
    m.countResponse(d);
    const dir = inst.directory;
    const res = d.resolution;
    if (dir != null && res != null) {
      // What this replica recorded, shared with the others (first writer wins there too).
      inst.directoryTransport!.currentStream = this.id;
      let sent = false;
      if (d.action == ResponseAction.Learned && res.outcome == Outcome.Pinned) sent = dir.claim(s.fingerprint, d.upstream, nowMillis());
      else if (d.action == ResponseAction.Corrected && res.outcome == Outcome.Repinned) sent = dir.move(s.fingerprint, s.pinned, d.upstream, nowMillis());
      if (sent) m.inc(m.dirWrites);
    }
    return FilterHeadersStatus.Continue;
  }
}
