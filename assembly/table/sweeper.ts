// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The sweeper: run by the lease holder, it walks the table a window of buckets per pass and removes
// entries whose pod left the cluster, that expired, or (with a directory) whose pod failed a join since
// they were seen. Work per pass follows change: in steady state a small window (expiry is measured in
// hours, so a slow cycle is enough), but when a pod leaves the cluster or fails a join an urgent cycle
// covers the whole table in two passes, so its rooms are gone within two ticks. It also counts live
// entries, reported as the table size after each full cycle.
import { AffinityTable } from "./table";
import { Entry, BucketCursor, decodeBucket, encodeBucket, isExpired } from "./bucket";
import { WriteStatus } from "./store";
import { hashBytesRaw, hashString } from "../support/hash";
import { FailedPods } from "./failed-pods";

export class SweepResult {
  bucketsVisited: i32 = 0;
  evictedGone: i32 = 0;
  evictedExpired: i32 = 0;
  /** Pins to a pod that failed a join since (FailedPods). */
  evictedStale: i32 = 0;
  /** Set when this pass completed a full cycle: live entries counted over that cycle, else -1. */
  cycleEntries: i64 = -1;
}

/**
 * The addresses that count as present; null means "unknown" (then only expiry evicts). Kept as
 * hashes of the address bytes, so the sweeper can test raw bucket bytes without building strings.
 */
export class PresentHosts {
  hashes: Set<u64> = new Set();
  add(address: string): void {
    this.hashes.add(hashString(address));
  }
  has(address: string): bool {
    return this.hashes.has(hashString(address));
  }
  hasRaw(ptr: usize, len: usize): bool {
    return this.hashes.has(hashBytesRaw(ptr, len));
  }
  get size(): i32 {
    return this.hashes.size;
  }

  /** True if some host of `before` is not here any more. */
  lostSince(before: PresentHosts): bool {
    const old = before.hashes.values();
    for (let i = 0; i < old.length; i++) if (!this.hashes.has(old[i])) return true;
    return false;
  }
}

/** Scans raw bucket bytes: returns the number of live entries, or -1 if any entry must go (or the bytes are odd). */
function liveIfNothingToEvict(b: Uint8Array, now: u32, ttl: u32, present: PresentHosts | null, failed: FailedPods | null): i32 {
  const c = new BucketCursor(b);
  let live = 0;
  while (c.next()) {
    if (isExpired(c.lastSeen, now, ttl)) return -1;
    if (present != null && !present.hasRaw(c.addressPtr, <usize>c.addressLength)) return -1;
    if (failed != null && failed.staleRaw(c.addressPtr, <usize>c.addressLength, c.lastSeen)) return -1;
    live++;
  }
  return c.valid ? live : -1;
}

const WRITE_ATTEMPTS = 4;

/** Buckets between calls of Sweeper.collect. */
const COLLECT_EVERY_BUCKETS = 256;

export class Sweeper {
  cursor: i32 = 0;
  private cycleEntries: i64 = 0;
  private present: PresentHosts | null = null;
  private failed: FailedPods | null = null;
  /** The pod failures the last pass was given. */
  private lastFailed: FailedPods | null = null;
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: keeps the result reachable while collect() runs mid-pass
  private result: SweepResult = new SweepResult();
  /** Passes left in an urgent cycle (a pod left or failed a join): each visits half the table. */
  urgentPasses: i32 = 0;
  private lastPresent: PresentHosts | null = null;

  constructor(
    public table: AffinityTable,
    public window: i32,
    /**
     * Called every COLLECT_EVERY_BUCKETS buckets of a pass (the plugin collects garbage there; the
     * minimal runtime does not scan the stack, so the pass keeps what it needs in fields).
     */
    public collect: (() => void) | null = null,
  ) {}

  /** Buckets the next pass visits. */
  get currentWindow(): i32 {
    return this.urgentPasses > 0 ? max<i32>(this.window, (this.table.bucketCount + 1) / 2) : this.window;
  }

  /**
   * on_tick or on_http_call_response (lease holder, after a membership refresh): visits the next `window`
   * buckets. `present` is the union of current cluster members, or null when membership is unknown
   * or stale: pod-gone eviction then waits, so a failed fetch never empties the table. `failed`: the
   * pods whose pins go when they predate a failure (with a directory only), or null.
   */
  pass(now: u32, present: PresentHosts | null, failed: FailedPods | null = null): SweepResult {
    const res = new SweepResult();
    this.result = res;
    this.present = present;
    this.failed = failed;
    const t = this.table;
    if (present != null) {
      if (this.lastPresent != null && present.lostSince(this.lastPresent!)) this.urgentPasses = 2;
      this.lastPresent = present;
    }
    // Compared with the last pass's list, not the last one acted on: a pod can leave the list (the
    // health check fails it now) and come back with the same failure, which is new to the sweep then.
    if (failed != null && failed.newerThan(this.lastFailed)) this.urgentPasses = 2;
    this.lastFailed = failed;
    const n = min<i32>(this.currentWindow, t.bucketCount);
    if (this.urgentPasses > 0) this.urgentPasses--;
    for (let i = 0; i < n; i++) {
      if (i > 0 && i % COLLECT_EVERY_BUCKETS == 0 && this.collect != null) this.collect!();
      if (this.cursor >= t.bucketCount) this.cursor = 0;
      const index = this.cursor++;
      res.bucketsVisited++;
      this.sweepBucket(index, now, this.present, this.failed, res);
      if (this.cursor >= t.bucketCount) {
        res.cycleEntries = this.cycleEntries;
        this.cycleEntries = 0;
      }
    }
    return res;
  }

  private sweepBucket(index: i32, now: u32, present: PresentHosts | null, failed: FailedPods | null, res: SweepResult): void {
    const t = this.table;
    const key = t.bucketKey(index);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      // Read from the store, not through the worker's copies: a sweep visits every bucket, and copies
      // are for the buckets joins ask for.
      const sv = t.store.get(key);
      if (sv.value == null || sv.value!.length == 0) return;
      // Fast path: most buckets lose nothing; count them from the raw bytes.
      const live = liveIfNothingToEvict(sv.value!, now, t.ttlSeconds, present, failed);
      if (live >= 0) {
        this.cycleEntries += live;
        return;
      }
      const entries = decodeBucket(sv.value);
      if (entries == null) return; // the request path rewrites unreadable buckets
      const kept = new Array<Entry>(0);
      let gone = 0;
      let expired = 0;
      let stale = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (t.expired(e.lastSeen, now)) expired++;
        else if (present != null && !present.has(e.address)) gone++;
        else if (failed != null && failed.stale(e.address, e.lastSeen)) stale++;
        else kept.push(e);
      }
      if (gone + expired + stale > 0 && t.writeBucket(index, encodeBucket(kept), sv.cas) != WriteStatus.Ok) continue; // raced: re-read
      res.evictedGone += gone;
      res.evictedExpired += expired;
      res.evictedStale += stale;
      this.cycleEntries += kept.length;
      return;
    }
  }
}
