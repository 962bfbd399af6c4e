// The room-affinity filter: per request, build the room key, resolve its pod through the affinity
// table (placing new rooms by rendezvous over the cluster's membership), and pin the upstream.
import { RootContext, HttpContext } from "./abi/context";
import { FilterHeadersStatus, MapType, BufferType, LogLevel } from "./abi/imports";
import {
  getBuffer, getHeader, getHeaderBytes, getPropertyString, sendLocalResponse, setTickPeriodMs,
  nowNanos, logError, logInfo, logDebug, hostLogLevel,
} from "./abi/host";
import { SharedDataStore } from "./abi/shared-store";
import { collectInsideTick } from "./abi/exports";
import { PluginConfig, RouteSettings, parseConfig, MissingKeyPolicy } from "./config";
import { stripPort } from "./rules";
import { KeySpec, KeyStatus, buildRoomKey } from "./key";
import { hashBytes, hashString, mix64 } from "./hash";
import { AffinityTable, Outcome, PinPolicy, Resolution } from "./table";
import { Platform } from "./platform/platform";
import { Metrics } from "./metrics";
import { SnapshotStore } from "./snapshots";
import { Lease } from "./lease";
import { Sweeper, PresentHosts } from "./sweeper";

/** response-details codes of local replies (visible as %RESPONSE_CODE_DETAILS% in access logs). */
export const DETAILS_MISSING_KEY = "room_affinity_missing_key";
export const DETAILS_KEY_TOO_LONG = "room_affinity_key_too_long";

/** Used while membership is unknown: keep any pin (Envoy still checks it), place nothing. */
class KeepPinsOnly extends PinPolicy {
  keepsPin(address: string): bool { return true; }
  place(fingerprint: u64): string { return ""; }
}
const KEEP_PINS_ONLY = new KeepPinsOnly();

function nowSeconds(): u32 { return <u32>(nowNanos() / 1000000000); }
function nowMillis(): u64 { return nowNanos() / 1000000; }

export class RoomAffinityRoot extends RootContext {
  config: PluginConfig | null = null;
  /** Key specs built once per configuration: [0] for the global settings, [i + 1] for rules[i]. */
  keySpecs: KeySpec[] = [];
  table: AffinityTable | null = null;
  metrics: Metrics | null = null;
  snapshots: SnapshotStore | null = null;
  /** One root context (of all threads) refreshes membership and sweeps; see lease.ts. */
  lease: Lease | null = null;
  sweeper: Sweeper | null = null;
  readonly store: SharedDataStore = new SharedDataStore();
  /** Whether the host logs debug lines; refreshed on configure and each tick, so per-pin log lines
   *  are only built when someone reads them. */
  debugEnabled: bool = false;

  constructor(id: u32, public platform: Platform) { super(id); }

  onConfigure(size: u32): bool {
    const raw = size == 0 ? new Uint8Array(0) : getBuffer(BufferType.PluginConfiguration, size);
    const result = parseConfig(raw == null ? new Uint8Array(0) : raw);
    if (result.config == null) {
      logError("room-affinity: " + result.error);
      return false;
    }
    const c = result.config!;
    this.config = c;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    this.keySpecs = [new KeySpec(c.route.keyParams, c.route.keyIncludesPath, c.route.maxKeyLength)];
    for (let i = 0; i < c.rules.length; i++) {
      const r = c.rules[i].settings;
      this.keySpecs.push(new KeySpec(r.keyParams, r.keyIncludesPath, r.maxKeyLength));
    }
    const refresh = <u32>min<i32>(60, max<i32>(1, c.entryTtlSeconds / 10));
    this.table = new AffinityTable(this.store, c.sharedDataPrefix, c.capacity, c.bucketSize, <u32>c.entryTtlSeconds, refresh);
    if (this.metrics == null) this.metrics = new Metrics();
    this.snapshots = new SnapshotStore(this.store, c.sharedDataPrefix);
    // Unique across threads and VMs: the root id plus the creation time in nanoseconds.
    const owner = this.id.toString() + "-" + nowNanos().toString();
    this.lease = new Lease(this.store, c.sharedDataPrefix + ":lease:sweeper", owner, <u64>c.tickPeriodMs * 3);
    this.sweeper = new Sweeper(this.table!, c.sweepWindow);
    this.sweeper!.collect = collectInsideTick;
    this.platform.configure(c, this.snapshots!, this.metrics!);
    setTickPeriodMs(<u32>c.tickPeriodMs);
    logInfo("room-affinity: configured: key " + (c.route.keyIncludesPath ? "path:" : "") + c.route.keyParams.join(":") +
      (c.rules.length > 0 ? " (" + c.rules.length.toString() + " per-route rules)" : "") +
      ", capacity " + c.capacity.toString() + " in " + c.bucketCount.toString() + " buckets of " + c.bucketSize.toString() +
      ", sweeping " + c.sweepWindow.toString() + " buckets per tick");
    return true;
  }

  onTick(): void {
    if (this.config == null) return;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    const nowMs = nowMillis();
    const m = this.metrics!;
    // Every thread reports the age, so the gauge keeps rising if the lease holder stops refreshing.
    const age = this.snapshots!.freshestAgeMs(nowMs);
    if (age >= 0) m.set(m.snapshotAgeMs, <u64>age);
    if (!this.lease!.tryHold(nowMs)) return;
    // With an asynchronous refresh in flight, sweep when it completes (fresh membership), else now.
    if (!this.platform.refreshMembership(this.config!, nowMs)) this.sweep(nowMs);
  }

  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32): void {
    if (this.config == null) return;
    const nowMs = nowMillis();
    if (this.platform.onHttpCallResponse(this.config!, token, bodySize, nowMs)) this.sweep(nowMs);
  }

  /**
   * Request-path contract: index into keySpecs of the settings that apply (0 = global, i + 1 = rules[i]),
   * matched like Higress matches `_rules_`: route name, host without port, or routed cluster.
   */
  routeIndex(cluster: string): i32 {
    const rules = this.config!.rules;
    if (rules.length == 0) return 0;
    let routeName = getPropertyString(["route_name"]);
    if (routeName == null) routeName = getPropertyString(["xds", "route_name"]);
    const authority = getHeader(MapType.HttpRequestHeaders, ":authority");
    const host = authority == null ? "" : stripPort(authority);
    for (let i = 0; i < rules.length; i++) {
      if (rules[i].matcher.matches(routeName == null ? "" : routeName, host, cluster)) return i + 1;
    }
    return 0;
  }

  /** Hash of a routed cluster's name, computed once per cluster. */
  private clusterHashes: Map<string, u64> = new Map();
  clusterHash(cluster: string): u64 {
    if (this.clusterHashes.has(cluster)) return this.clusterHashes.get(cluster);
    const h = hashString(cluster);
    if (this.clusterHashes.size > 4096) this.clusterHashes.clear();
    this.clusterHashes.set(cluster, h);
    return h;
  }

  settingsAt(index: i32): RouteSettings {
    return index == 0 ? this.config!.route : this.config!.rules[index - 1].settings;
  }

  /** Sweep contract (lease holder): one window of buckets against the current membership. */
  sweep(nowMs: u64): void {
    const res = this.sweeper!.pass(<u32>(nowMs / 1000), this.presentHosts());
    const m = this.metrics!;
    m.add(m.sweptBuckets, res.bucketsVisited);
    m.add(m.evictedGone, res.evictedGone);
    m.add(m.evictedExpired, res.evictedExpired);
    if (res.cycleEntries >= 0) {
      m.set(m.tableEntries, <u64>res.cycleEntries);
      m.inc(m.sweepCycles);
    }
  }

  /**
   * Every pod of every cluster with a snapshot (an entry records its pod, not its cluster), or null
   * when no pod is known: pod-gone eviction then waits, so an empty or failed view never empties the table.
   */
  presentHosts(): PresentHosts | null {
    const snaps = this.snapshots!;
    const clusters = snaps.clusters();
    const present = new PresentHosts();
    for (let i = 0; i < clusters.length; i++) {
      const members = snaps.current(clusters[i]);
      if (members == null) continue;
      for (let j = 0; j < members.addresses.length; j++) present.add(members.addresses[j]);
    }
    return present.size > 0 ? present : null;
  }

  newHttpContext(id: u32): HttpContext {
    return new RoomAffinityStream(id, this);
  }
}

function isWebSocketUpgrade(): bool {
  const up = getHeader(MapType.HttpRequestHeaders, "upgrade");
  return up != null && up.toLowerCase() == "websocket";
}

/** The upstream Envoy connected to, if any, and whether its answer is one to build a pin on (not 5xx). */
function servedUpstream(): string | null {
  const status = getHeader(MapType.HttpResponseHeaders, ":status");
  if (status == null || status.length != 3 || status.charCodeAt(0) >= 0x35) return null;
  const upstream = getPropertyString(["upstream", "address"]);
  return upstream != null && upstream.length > 0 ? upstream : null;
}

export class RoomAffinityStream extends HttpContext {
  fingerprint: u64 = 0;
  /** The room had no pin and no placement: learn the load balancer's choice from the response. */
  learning: bool = false;
  /** The address this request was pinned to ("" if none), checked against the actual upstream. */
  pinned: string = "";

  constructor(id: u32, public root: RoomAffinityRoot) { super(id); }

  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    if (root.config == null) return FilterHeadersStatus.Continue;
    const config = root.config!;
    const metrics = root.metrics!;
    const platform = root.platform;
    platform.sanitizeRequest(config);
    const clusterName = getPropertyString(["xds", "cluster_name"]);
    const cluster = clusterName == null ? "" : clusterName;
    const routeIndex = root.routeIndex(cluster);
    const settings = root.settingsAt(routeIndex);
    if (settings.websocketOnly && !isWebSocketUpgrade()) return FilterHeadersStatus.Continue;

    const path = getHeaderBytes(MapType.HttpRequestHeaders, ":path");
    const key = buildRoomKey(path == null ? new Uint8Array(0) : path, root.keySpecs[routeIndex]);
    if (key.status == KeyStatus.TooLong) {
      metrics.inc(metrics.rejectKeyTooLong);
      sendLocalResponse(400, DETAILS_KEY_TOO_LONG,
        "room key longer than " + settings.maxKeyLength.toString() + " bytes\n", [["content-type", "text/plain"]]);
      return FilterHeadersStatus.StopIteration;
    }
    if (key.status == KeyStatus.Missing) {
      if (settings.onMissingKey == MissingKeyPolicy.Reject) {
        metrics.inc(metrics.rejectNoKey);
        sendLocalResponse(400, DETAILS_MISSING_KEY,
          "missing query parameter '" + key.missingParam + "'\n", [["content-type", "text/plain"]]);
        return FilterHeadersStatus.StopIteration;
      }
      metrics.inc(metrics.passthroughNoKey);
      return FilterHeadersStatus.Continue;
    }

    // Rooms are per routed cluster: the same key routed to two clusters is two rooms.
    const fingerprint = mix64(hashBytes(key.key!) ^ (clusterName == null ? 0 : root.clusterHash(cluster)));
    this.fingerprint = fingerprint;
    const nowMs = nowMillis();
    let policy: PinPolicy = KEEP_PINS_ONLY;
    if (clusterName != null) {
      const members = platform.membership(config, cluster, nowMs);
      if (members != null && members.size > 0) policy = members;
    }
    const res = root.table!.resolve(fingerprint, <u32>(nowMs / 1000), policy);
    this.count(res);
    if (res.outcome == Outcome.NoPlacement) {
      this.learning = true;
    } else {
      this.pinned = res.address;
      platform.pin(config, res.address);
      if (res.outcome != Outcome.Hit && root.debugEnabled) {
        logDebug("room-affinity: " + (res.outcome == Outcome.Repinned ? "re-pinned" : "pinned") + " room " +
          String.UTF8.decodeUnsafe(key.key!.dataStart, key.key!.length) + " to " + res.address);
      }
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    if (root.config == null) return FilterHeadersStatus.Continue;
    if (this.pinned.length > 0) {
      // The common case, a join that went where it was pinned: stateful_session echoed nothing (it
      // only writes its header when the host changed), so there is nothing to strip or correct.
      const upstream = getPropertyString(["upstream", "address"]);
      if (upstream != null && upstream == this.pinned) return FilterHeadersStatus.Continue;
    }
    root.platform.sanitizeResponse(root.config!);
    if (!this.learning && this.pinned.length == 0) return FilterHeadersStatus.Continue;
    const upstream = servedUpstream();
    if (upstream == null) return FilterHeadersStatus.Continue;
    const metrics = root.metrics!;
    if (this.learning) {
      // The load balancer chose; make that the room's pin unless a racing request pinned it first.
      const res = root.table!.learn(this.fingerprint, nowSeconds(), upstream);
      if (res.outcome == Outcome.Pinned) metrics.inc(metrics.learned);
      this.countEvictions(res);
    } else if (upstream != this.pinned) {
      // The gateway did not honour the pin (pod gone or unusable in its eyes) and its load balancer
      // chose another pod: move the room there, so the next players follow instead of scattering.
      const res = root.table!.correct(this.fingerprint, nowSeconds(), this.pinned, upstream);
      if (res.outcome == Outcome.Repinned) metrics.inc(metrics.fallbackRepins);
      this.countEvictions(res);
    }
    return FilterHeadersStatus.Continue;
  }

  private count(res: Resolution): void {
    const m = this.root.metrics!;
    switch (res.outcome) {
      case Outcome.Hit: m.inc(m.hits); break;
      case Outcome.Pinned: m.inc(m.pins); break;
      case Outcome.Repinned: m.inc(m.repins); break;
      case Outcome.NoPlacement: m.inc(m.unplaced); break;
      case Outcome.Contended: m.inc(m.contended); break;
    }
    // A miss is a join that found no usable pin (new, expired or evicted room), however it was routed.
    if (res.outcome != Outcome.Hit && res.outcome != Outcome.Repinned) m.inc(m.misses);
    this.countEvictions(res);
  }

  private countEvictions(res: Resolution): void {
    const m = this.root.metrics!;
    m.add(m.casRetries, res.casRetries);
    m.add(m.evictedCapacity, res.evictedForCapacity);
    m.add(m.evictedExpired, res.evictedExpired);
  }
}
