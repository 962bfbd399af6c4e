// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A room's pods in order: the healthy pods of its cluster, ranked for the room by rendezvous hashing
// over the published membership. Every gateway and worker with the same view ranks them alike, so a
// room's players meet on one pod whichever gateway placed or retried them.
import { Membership, rankPods } from "./membership";
import { SnapshotStore } from "./snapshots";

/** How long a worker reuses the memberships it read (the snapshots change once per tick at most). */
const VIEW_REFRESH_MS: u64 = 250;

export class PodRanking {
  private views: Membership[] = [];
  private viewAtMs: u64 = 0;
  private viewed: bool = false;

  constructor(private readonly snapshots: SnapshotStore) {}

  /** The published membership that holds `address` (the only one if none does), or null. */
  membersOf(address: string, nowMs: u64): Membership | null {
    if (!this.viewed || nowMs < this.viewAtMs || nowMs - this.viewAtMs >= VIEW_REFRESH_MS) {
      const clusters = this.snapshots.clusters();
      const views = new Array<Membership>(0);
      for (let i = 0; i < clusters.length; i++) {
        const m = this.snapshots.current(clusters[i]);
        if (m != null) views.push(m);
      }
      this.views = views;
      this.viewAtMs = nowMs;
      this.viewed = true;
    }
    for (let i = 0; i < this.views.length; i++) if (this.views[i].flagsOf(address) >= 0) return this.views[i];
    // A pod that already left every snapshot: with one cluster, its rooms can only go to that one's pods
    // (ranked as by the gateways whose snapshots still list it, which rank without it too).
    return this.views.length == 1 ? this.views[0] : null;
  }

  /**
   * Writes into `out` the pods a room pinned to `pinned` goes to if that pod fails, best first; returns
   * their packed indices (0 when none is known). `members` is set to the membership they come from.
   */
  next(fingerprint: u64, pinned: string, nowMs: u64, out: string[]): u64 {
    return this.rank(fingerprint, this.membersOf(pinned, nowMs), pinned, out);
  }

  /**
   * Writes into `out` the pods a new room of `cluster` goes to, best first: the first places it, the
   * others take it if that one fails the join. The same order as `next` once the room is on the first.
   * The membership is read afresh: workers that ranked a new room's players on views a refresh apart
   * would place them on different pods.
   */
  first(fingerprint: u64, cluster: string, out: string[]): u64 {
    return this.rank(fingerprint, this.snapshots.current(cluster), "", out);
  }

  private rank(fingerprint: u64, members: Membership | null, excluded: string, out: string[]): u64 {
    this.members = members;
    if (members == null) {
      out.length = 0;
      return 0;
    }
    return rankPods(fingerprint, members, excluded, out);
  }

  /** The membership the last `next` or `first` ranked in (the packed indices refer to it). */
  members: Membership | null = null;
}
