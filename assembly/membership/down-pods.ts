// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The pods a join is not pinned to: members of a published snapshot that the gateway's health check
// fails now, each with the second it began failing them (from the list of pods that failed lately).
import { FailedPods, DownPods } from "../table/failed-pods";
import { SnapshotStore } from "./snapshots";
import { HOST_FAILING } from "./membership";

/** How long a worker reuses the set it built (the snapshots change once per tick at most). */
const VIEW_REFRESH_MS: u64 = 250;

export class HealthCheckDownPods extends DownPods {
  private view: FailedPods | null = null;
  private viewAtMs: u64 = 0;
  private viewed: bool = false;

  constructor(private readonly snapshots: SnapshotStore) {
    super();
  }

  current(nowMs: u64): FailedPods | null {
    if (this.viewed && nowMs >= this.viewAtMs && nowMs - this.viewAtMs < VIEW_REFRESH_MS) return this.view;
    return this.refresh(nowMs);
  }

  /**
   * The set as the snapshots have it now. The sweep reads it so, right after the membership read that
   * may have recorded a failure: a view from before would not list the pod yet, and its pins would go.
   */
  refresh(nowMs: u64): FailedPods | null {
    this.viewAtMs = nowMs;
    this.viewed = true;
    this.view = this.build();
    return this.view;
  }

  /**
   * A pod counts while a snapshot lists it as failing its checks (not healthy, not draining) and the
   * failure list dates its failure: a pod the check passes again is pinned to as before. So does a pod
   * of a cluster with no healthy pod left: a check that fails every pod says more about the check, and
   * joins withheld from their pods would have nowhere to go.
   */
  private build(): FailedPods | null {
    const failures = this.snapshots.failures();
    if (failures.length == 0) return null;
    const clusters = this.snapshots.clusters();
    const down = new FailedPods();
    for (let i = 0; i < failures.length; i++) {
      const address = failures[i].address;
      for (let c = 0; c < clusters.length; c++) {
        const members = this.snapshots.current(clusters[c]);
        if (members == null || members.flagsOf(address) != HOST_FAILING || members.eligibleCount() == 0) continue;
        down.add(address, <u32>(failures[i].atMs / 1000));
        break;
      }
    }
    return down.size > 0 ? down : null;
  }
}
