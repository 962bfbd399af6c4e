// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// One plugin instance per configuration: everything on_configure derives from a parsed PluginConfig,
// built once; its settings are then only read (what follows the worker's traffic, the bucket copies, the
// header plan and the assumed routed cluster, starts afresh with each instance). The root context holds one reference and swaps it
// on reconfigure; a configuration that fails to parse never replaces the one in force.
import { PluginConfig } from "../config/config";
import { KvStore } from "../table/store";
import { AffinityTable } from "../table/table";
import { SnapshotStore } from "../membership/snapshots";
import { PodTime } from "../membership/pod-times";
import { PodRanking } from "../membership/ranking";
import { FallbackHeader } from "./fallback-header";
import { Lease } from "../table/lease";
import { Sweeper, PresentHosts } from "../table/sweeper";
import { FailedPods } from "../table/failed-pods";
import { HealthCheckDownPods } from "../membership/down-pods";
import { RequestDecider, routesOf } from "../request/decision";
import { recordGeometry } from "../table/history";
import { RoomDirectory } from "../directory/directory";
import { DirectoryCoordinator, MembershipCheck } from "./directory-coordinator";
import { Metrics } from "./metrics";
import { Platform, PinWriter, MembershipSource } from "../platform/platform";
import { HostName } from "../abi/host";
import { HeaderReadPlan } from "../request/header-plan";

/**
 * on_http_call_response, on_redis_call_response (a directory reply): whether `address` is a pod the
 * gateway could route to. A value read from the directory is used only then (the gateway checks
 * membership again before honouring a pin). With no membership known yet, nothing can be checked, so
 * the gateway's own check decides.
 */
class SnapshotMembership extends MembershipCheck {
  constructor(private readonly snapshots: SnapshotStore) {
    super();
  }

  routable(address: string): bool {
    const clusters = this.snapshots.clusters();
    let known = false;
    for (let i = 0; i < clusters.length; i++) {
      const members = this.snapshots.current(clusters[i]);
      if (members == null) continue;
      known = true;
      if (members.flagsOf(address) >= 0) return true;
    }
    return !known;
  }

  failedOver(address: string, nowMs: u64): void {
    this.snapshots.recordFailure(address, nowMs);
  }

  failuresText(): string {
    return this.snapshots.failuresText();
  }

  mergeFailures(shared: PodTime[], nowMs: u64): i32 {
    return this.snapshots.mergeFailures(shared, nowMs);
  }

  hasLeft(address: string): bool {
    return this.snapshots.hasLeft(address);
  }
}

export class PluginInstance {
  /** `hashHeader`, encoded for the host once. */
  readonly hashHeaderName: HostName;
  /** How this worker's request hook reads headers (one call for all, or one each), by its recent traffic. */
  readonly headerPlan: HeaderReadPlan;

  constructor(
    public readonly config: PluginConfig,
    public readonly decider: RequestDecider,
    public readonly pinWriter: PinWriter,
    public readonly membership: MembershipSource,
    public readonly snapshots: SnapshotStore,
    /** One root context (of all threads) refreshes membership and sweeps; see lease.ts. */
    public readonly lease: Lease,
    public readonly sweeper: Sweeper,
    /** The shared room directory of this worker thread, or null. */
    public readonly directory: DirectoryCoordinator | null,
    /** Writes fallbackHeader with each pin, or null when it is off. */
    public readonly fallbackHeader: FallbackHeader | null,
    /** The pods the health check fails now, as the decider reads them. */
    public readonly downPods: HealthCheckDownPods,
  ) {
    this.hashHeaderName = new HostName(config.hashHeader);
    this.headerPlan = new HeaderReadPlan(!decider.passesEveryNonWebSocket);
  }

  /** The configure log line: what this instance will do. */
  describe(): string {
    const c = this.config;
    const t = this.decider.table;
    return (
      "key " +
      (c.route.keyIncludesPath ? "path:" : "") +
      c.route.keyParams.join(":") +
      (c.rules.length > 0 ? " (" + c.rules.length.toString() + " per-route rules)" : "") +
      ", capacity " +
      t.capacity.toString() +
      " in " +
      t.bucketCount.toString() +
      " buckets of " +
      t.bucketSize.toString() +
      ", sweeping " +
      this.sweeper.window.toString() +
      " buckets per tick" +
      (c.directory != null
        ? ", room directory " +
          c.directory!.type +
          " via cluster '" +
          c.directory!.cluster +
          "' (timeout " +
          c.directory!.timeoutMs.toString() +
          " ms)"
        : "")
    );
  }

  /**
   * on_tick (sweep): every pod of every cluster with a snapshot (an entry records its pod, not its
   * cluster), or null when no pod is known: pod-gone eviction then waits, so an empty or failed view
   * never empties the table.
   */
  presentHosts(): PresentHosts | null {
    const clusters = this.snapshots.clusters();
    const present = new PresentHosts();
    for (let i = 0; i < clusters.length; i++) {
      const members = this.snapshots.current(clusters[i]);
      if (members == null) continue;
      for (let j = 0; j < members.addresses.length; j++) present.add(members.addresses[j]);
    }
    return present.size > 0 ? present : null;
  }

  /**
   * on_tick (sweep), with a directory: the pods whose pinned joins failed over lately, other than those
   * the health check fails now. Pins to them seen before are dropped, and the rooms' next joins ask the
   * directory, where another replica may have moved them (a pod restarted on its address would
   * otherwise take their late players). Null without a directory: one gateway's own table already
   * holds every move.
   */
  failedPods(): FailedPods | null {
    if (this.directory == null) return null;
    const list = this.snapshots.failures();
    if (list.length == 0) return null;
    // Pins to a pod the health check fails now stay: once the verdict has held, a join skips them
    // (downPods) and its 101 moves the room off the pod, which the directory confirms. They go once the
    // pod passes again, maybe empty.
    const down = this.downPods.failingNow(list);
    const failed = new FailedPods();
    for (let i = 0; i < list.length; i++) {
      if (down == null || !down.has(list[i].address)) failed.add(list[i].address, <u32>(list[i].atMs / 1000));
    }
    return failed.size > 0 ? failed : null;
  }
}

/**
 * on_configure: derives the instance for `config`. `owner` names this root context in
 * the lease (unique across threads and VMs); `collect` is the sweeper's garbage-collection hook;
 * `pluginName` keys the history of table geometries (history.ts); `nowMs` is the configure time.
 */
export function buildInstance(
  config: PluginConfig,
  platform: Platform,
  store: KvStore,
  metrics: Metrics,
  owner: string,
  collect: (() => void) | null,
  pluginName: string,
  nowMs: u64,
  rootId: u32,
): PluginInstance {
  const c = config;
  // A hit refreshes lastSeen at most every tenth of the TTL (bounded to 1..60 s), not on every join.
  // With a directory, the same refresh re-validates the room there, so it follows the directory's interval.
  let refresh = min<i32>(60, max<i32>(1, c.entryTtlSeconds / 10));
  if (c.directory != null) refresh = min<i32>(refresh, c.directory!.refreshSeconds);
  const refreshSeconds = <u32>refresh;
  const table = new AffinityTable(
    store,
    c.sharedDataPrefix,
    c.capacity,
    c.bucketSize,
    <u32>c.entryTtlSeconds,
    refreshSeconds,
    c.workerBucketCopies,
  );
  const history = recordGeometry(store, "room-affinity:tables:" + pluginName, table, <u32>(nowMs / 1000));
  const snapshots = new SnapshotStore(store, c.sharedDataPrefix);
  const ranking = new PodRanking(snapshots);
  const downPods = new HealthCheckDownPods(snapshots);
  // The lease outlives a holder that stops ticking (VM replaced on reload) by three tick periods.
  const lease = new Lease(store, c.sharedDataPrefix + ":lease:sweeper", owner, <u64>c.tickPeriodMs * 3);
  const sweeper = new Sweeper(table, min<i32>(c.sweepBucketsPerTick, table.bucketCount), collect);
  let directory: DirectoryCoordinator | null = null;
  if (c.directory != null) {
    const parts = platform.directory(c.directory!, rootId);
    directory = new DirectoryCoordinator(
      new RoomDirectory(c.directory!, c.entryTtlSeconds, parts.protocol, parts.transport),
      parts.transport,
      table,
      new SnapshotMembership(snapshots),
      metrics,
      rootId,
      c.logDecision,
    );
  }
  const membership = platform.membershipSource(c, snapshots, metrics);
  return new PluginInstance(
    c,
    new RequestDecider(routesOf(c), table, history, membership.observesEveryMs(), c.directory != null, downPods),
    platform.pinWriter(c),
    membership,
    snapshots,
    lease,
    sweeper,
    directory,
    c.fallbackHeader.length > 0 ? new FallbackHeader(c.fallbackHeader, ranking) : null,
    downPods,
  );
}
