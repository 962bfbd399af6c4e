// The sweeper: run by the lease holder, it walks the table a window of buckets per pass and removes
// entries whose pod left the cluster or that expired. Bounded work per pass (the window); a full
// cycle takes ceil(bucketCount / window) passes. It also counts live entries, so the table size can
// be reported after each full cycle.
import { AffinityTable, Entry, decodeBucket, encodeBucket } from "./table";
import { WriteStatus } from "./store";

export class SweepResult {
  bucketsVisited: i32 = 0;
  evictedGone: i32 = 0;
  evictedExpired: i32 = 0;
  /** Set when this pass completed a full cycle: live entries counted over that cycle, else -1. */
  cycleEntries: i64 = -1;
}

/** The addresses that count as present; null means "unknown" (then only expiry evicts). */
export class PresentHosts {
  private set: Set<string> = new Set();
  add(address: string): void { this.set.add(address); }
  has(address: string): bool { return this.set.has(address); }
  get size(): i32 { return this.set.size; }
}

const WRITE_ATTEMPTS = 4;

export class Sweeper {
  cursor: i32 = 0;
  private cycleEntries: i64 = 0;

  constructor(public table: AffinityTable, public window: i32) {}

  /**
   * Sweep contract (lease holder, on tick or after a membership refresh): visits the next `window`
   * buckets. `present` is the union of current cluster members, or null when membership is unknown
   * or stale: pod-gone eviction then waits, so a failed fetch never empties the table.
   */
  pass(now: u32, present: PresentHosts | null): SweepResult {
    const res = new SweepResult();
    const t = this.table;
    const n = min<i32>(this.window, t.bucketCount);
    for (let i = 0; i < n; i++) {
      if (this.cursor >= t.bucketCount) this.cursor = 0;
      const index = this.cursor++;
      res.bucketsVisited++;
      this.sweepBucket(index, now, present, res);
      if (this.cursor >= t.bucketCount) {
        res.cycleEntries = this.cycleEntries;
        this.cycleEntries = 0;
      }
    }
    return res;
  }

  private sweepBucket(index: i32, now: u32, present: PresentHosts | null, res: SweepResult): void {
    const t = this.table;
    const key = t.bucketKey(index);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const sv = t.store.get(key);
      if (sv.value == null || sv.value!.length == 0) return;
      const entries = decodeBucket(sv.value);
      if (entries == null) return; // the request path rewrites unreadable buckets
      const kept = new Array<Entry>(0);
      let gone = 0;
      let expired = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (t.expired(e, now)) expired++;
        else if (present != null && !present.has(e.address)) gone++;
        else kept.push(e);
      }
      if (gone + expired > 0 && t.store.set(key, encodeBucket(kept), sv.cas) != WriteStatus.Ok) continue; // raced: re-read
      res.evictedGone += gone;
      res.evictedExpired += expired;
      this.cycleEntries += kept.length;
      return;
    }
  }
}
