// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The pods a join is not pinned to: members that the gateway's health check fails in two membership
// reads a tick apart, each with the second it began failing them (from the list of pods that failed
// lately).
import { FailedPods, DownPods } from "../table/failed-pods";
import { SnapshotStore } from "./snapshots";
import { PodTime } from "./pod-times";
import { HOST_FAILING } from "./membership";

/** How long a worker reuses the set it built (the snapshots change once per tick at most). */
const VIEW_REFRESH_MS: u64 = 250;
/**
 * A verdict counts for joins once a membership read at least this long after the first read that
 * showed the pod failing still shows it (the next tick's read, at the default tick). A pod that stalls
 * for a moment (a garbage-collection pause) fails a check while its players play on, and passes the
 * next one; moving its rooms then would split them.
 */
export const CONFIRMED_AFTER_MS: u64 = 900;

export class HealthCheckDownPods extends DownPods {
  private view: FailedPods | null = null;
  private viewAtMs: u64 = 0;
  private viewed: bool = false;

  constructor(private readonly snapshots: SnapshotStore) {
    super();
  }

  current(nowMs: u64): FailedPods | null {
    if (this.viewed && nowMs >= this.viewAtMs && nowMs - this.viewAtMs < VIEW_REFRESH_MS) return this.view;
    this.viewAtMs = nowMs;
    this.viewed = true;
    this.view = this.build(true, this.snapshots.failures());
    return this.view;
  }

  /**
   * The pods the checks fail now, however briefly, as the snapshots have them now: the sweep keeps its
   * pins to them (joins skip those once the verdict has held, and a pod that passes again keeps its
   * rooms). Read afresh, right after the membership read that may have recorded a failure; `failures`
   * is the list of pods that failed lately, as the caller just read it.
   */
  failingNow(failures: PodTime[]): FailedPods | null {
    return this.build(false, failures);
  }

  /**
   * A pod counts while a snapshot lists it as failing its checks (not healthy, not draining) and the
   * failure list dates its failure; for joins (`confirmed`), only once a read CONFIRMED_AFTER_MS after
   * the first that showed it failing still does. A pod the check passes again is pinned to as before.
   * So is a pod of a cluster with no healthy pod left: a check that fails every pod says more about
   * the check, and joins withheld from their pods would have nowhere to go.
   */
  private build(confirmed: bool, failures: PodTime[]): FailedPods | null {
    if (failures.length == 0) return null;
    const clusters = this.snapshots.clusters();
    const down = new FailedPods();
    for (let i = 0; i < failures.length; i++) {
      const address = failures[i].address;
      for (let c = 0; c < clusters.length; c++) {
        const members = this.snapshots.current(clusters[c]);
        if (members == null || members.flagsOf(address) != HOST_FAILING || members.eligibleCount() == 0) continue;
        if (confirmed) {
          // Counted from the reads, not from the failure list, whose time moves on with every join
          // that fails over from the pod.
          const read = this.snapshots.readVersion(clusters[c]);
          const since = this.snapshots.failingSince(clusters[c], address);
          if (read == null || since == 0 || read.publishedAtMs < since + CONFIRMED_AFTER_MS) continue;
        }
        down.add(address, <u32>(failures[i].atMs / 1000));
        break;
      }
    }
    return down.size > 0 ? down : null;
  }
}
