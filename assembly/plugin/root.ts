// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The root context's hooks: configure, tick, and the replies to calls it dispatched. Each reads what
// the host gives, hands it to the instance's parts, and applies their result.
import { RootContext, HttpContext } from "../abi/context";
import { BufferType, LogLevel } from "../abi/imports";
import {
  getBuffer,
  getPropertyString,
  setTickPeriodMs,
  nowNanos,
  logError,
  logInfo,
  hostLogLevel,
  hostCallFailures,
  HostName,
} from "../abi/host";
import { collectInsideHook } from "../abi/collector";
import { SharedDataStore } from "../table/shared-store";
import { parseConfig } from "../config/config";
import { Platform } from "../platform/platform";
import { Metrics } from "./metrics";
import { PluginInstance, buildInstance } from "./instance";
import { nowMillis } from "./host-facts";
import { RoomAffinityStream } from "./stream";

const PLUGIN_NAME = HostName.property(["plugin_name"]);

export class RoomAffinityRoot extends RootContext {
  /** The configuration in force; replaced only by one that parsed. */
  instance: PluginInstance | null = null;
  readonly metrics: Metrics = new Metrics();
  readonly store: SharedDataStore = new SharedDataStore();
  /** Players refused because their room was on another pod (this thread, since start). */
  conflicts: u32 = 0;
  /** This VM's unexpected host statuses already added to the host_call_failures_total counter. */
  private hostCallFailuresPublished: u64 = 0;
  /** Whether the host logs debug lines; refreshed on configure and each tick, so per-pin log lines
   *  are only built when someone reads them. */
  debugEnabled: bool = false;

  constructor(
    id: u32,
    public platform: Platform,
  ) {
    super(id);
  }

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
    const inst = buildInstance(
      result.config!,
      this.platform,
      this.store,
      this.metrics,
      owner,
      collectInsideHook,
      name == null ? "" : name!,
      nowMillis(),
      this.id,
    );
    const old = this.instance;
    if (old != null) {
      this.metrics.publish(old.decider.table.copies); // the replaced table's counts since the last tick
      // Joins paused for the old configuration's directory must not wait for replies nobody will take.
      if (old.directory != null) old.directory!.abandon(nowMillis());
    }
    this.instance = inst;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    setTickPeriodMs(<u32>inst.config.tickPeriodMs);
    logInfo("room-affinity: configured: " + inst.describe());
    return true;
  }

  onTick(): void {
    const inst = this.instance;
    const m = this.metrics;
    m.publish(inst == null ? null : inst.decider.table.copies);
    const failures = hostCallFailures();
    m.add(m.hostCallFailures, <i64>(failures - this.hostCallFailuresPublished));
    this.hostCallFailuresPublished = failures;
    if (inst == null) return;
    this.debugEnabled = hostLogLevel() <= LogLevel.Debug;
    const nowMs = nowMillis();
    // Every thread reports the age, so the gauge keeps rising if the lease holder stops refreshing.
    const age = inst.snapshots.freshestAgeMs(nowMs);
    if (age >= 0) m.set(m.snapshotAgeSeconds, <u64>age / 1000);
    const clusters = inst.decider.routedCluster.takeEnding();
    if (clusters.length > 0) {
      logInfo(
        "room-affinity: keyed requests reach two clusters (" +
          clusters +
          "): this worker reads the routed " +
          "cluster on every join from now on (rooms are per cluster)",
      );
    }
    if (inst.directory != null) inst.directory!.onTick(nowMs);
    if (!inst.lease.tryHold(nowMs)) return;
    // Pod failures other replicas saw reach this gateway's sweeper, and the ones it saw reach theirs.
    if (inst.directory != null) inst.directory!.shareFailures(nowMs);
    // With an asynchronous refresh in flight, sweep when it completes (fresh membership), else now.
    if (!inst.membership.refresh(nowMs)) this.sweep(inst, nowMs);
  }

  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32): void {
    const inst = this.instance;
    if (inst == null) return;
    const nowMs = nowMillis();
    const dir = inst.directory;
    if (dir != null && dir.owns(token)) dir.onHttpReply(token, headerCount, bodySize, nowMs);
    else if (inst.membership.onHttpCallResponse(token, bodySize, nowMs)) this.sweep(inst, nowMs);
  }

  onRedisCallResponse(token: u32, status: u32, responseSize: u32): void {
    const inst = this.instance;
    if (inst == null || inst.directory == null) return;
    const dir = inst.directory!;
    if (dir.owns(token)) dir.onRedisReply(token, status, responseSize, nowMillis());
  }

  /** on_tick (lease holder): one window of buckets against the current membership. */
  private sweep(inst: PluginInstance, nowMs: u64): void {
    const res = inst.sweeper.pass(<u32>(nowMs / 1000), inst.presentHosts(), inst.failedPods());
    const m = this.metrics;
    m.add(m.sweptBuckets, res.bucketsVisited);
    m.add(m.evictedGone, res.evictedGone);
    m.add(m.evictedStale, res.evictedStale);
    m.add(m.evictedExpired, res.evictedExpired);
    if (res.cycleEntries >= 0) {
      m.set(m.tableEntries, <u64>res.cycleEntries);
      m.inc(m.sweepCycles);
    }
  }

  newHttpContext(id: u32): HttpContext {
    return new RoomAffinityStream(id, this);
  }
}
