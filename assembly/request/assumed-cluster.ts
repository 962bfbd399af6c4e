// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The routed cluster a worker's keyed requests have been routed to, assumed for the next ones, and the
// room fingerprints made with it. When it is read and why: docs/architecture.md ("The assumed cluster").

import { RequestFacts, DeferredFacts, StreamState } from "./facts";
import { hashString, mix64 } from "../support/hash";
import { Sampler } from "../support/sampler";

/** Keyed requests after the first read whose cluster is read all the same (a deployment that routes a
 *  room path to several clusters shows it at once). */
export const FIRST_CHECKS: u32 = 16;
/** After FIRST_CHECKS, one keyed request in CHECK_EVERY reads its cluster. */
export const CHECK_EVERY: u32 = 64;

export class AssumedCluster {
  private known: bool = false;
  private name: string | null = null;
  private exact: bool;
  /** Which keyed requests read the cluster all the same while it is assumed. */
  private readonly checks: Sampler = new Sampler(FIRST_CHECKS, CHECK_EVERY);
  /** Hash of each routed cluster's name, computed once per cluster (rooms are per cluster). */
  private clusterHashes: Map<string, u64> = new Map();
  /** The cluster hashed last and its hash: the common join names the same cluster again. */
  private lastCluster: string | null = null;
  private lastClusterHash: u64 = 0;
  /** Whether the last `fingerprint` was made with the assumed cluster. */
  lastAssumed: bool = false;
  /** When a read was last due to `refreshMs` (or the first read). */
  private lastRefreshMs: u64 = 0;
  /** The cluster whose read ended the assumption, until `takeEnding` hands it out ("" otherwise). */
  private other: string = "";

  /**
   * `exact`: read on every keyed request from the start (a rule matches by service). `refreshMs`: the
   * longest time between two reads (0: no such need).
   */
  constructor(
    exact: bool,
    private readonly refreshMs: u64,
  ) {
    this.exact = exact;
  }

  /** The cluster assumed (meaningful when `mayAssume` said yes). */
  get assumed(): string | null {
    return this.name;
  }

  /** on_request_headers: whether this keyed request may be keyed with the assumed cluster, unread. */
  mayAssume(nowMs: u64): bool {
    if (this.exact || !this.known) return false;
    if (this.refreshMs > 0 && nowMs - this.lastRefreshMs >= this.refreshMs) {
      this.lastRefreshMs = nowMs;
      return false;
    }
    return !this.checks.take();
  }

  /**
   * on_request_headers: the room's fingerprint (its key's hash and its routed cluster's), made with
   * the assumed cluster when this request may assume it (then `lastAssumed`), else with the one read.
   */
  fingerprint(keyHash: u64, facts: RequestFacts): u64 {
    const nowMs = facts.nowMs;
    if (this.mayAssume(nowMs)) {
      this.lastAssumed = true;
      return this.fingerprintOf(keyHash, this.name);
    }
    this.lastAssumed = false;
    return this.fingerprintRead(keyHash, facts);
  }

  /** on_request_headers: the room's fingerprint under the cluster read for this request. */
  fingerprintRead(keyHash: u64, facts: RequestFacts): u64 {
    const cluster = facts.cluster;
    this.confirm(cluster, facts.nowMs);
    return this.fingerprintOf(keyHash, cluster);
  }

  /**
   * on_response_headers, for a pin made with the assumed cluster that the gateway did not honour:
   * Envoy honours a pin only to a member of the routed cluster, so this request may have been routed
   * to another cluster than assumed; its pin was then another room's, to leave alone, and the stream
   * learns its room under the real cluster instead.
   */
  recheckUnhonouredPin(s: StreamState, facts: DeferredFacts): void {
    s.assumedCluster = false;
    const cluster = facts.cluster();
    if (this.confirm(cluster, facts.nowMs())) return;
    s.fingerprint = this.fingerprintOf(s.keyHash, cluster);
    s.pinned = "";
    s.learning = true;
  }

  private fingerprintOf(keyHash: u64, cluster: string | null): u64 {
    return mix64(keyHash ^ (cluster == null ? 0 : this.clusterHash(cluster!)));
  }

  private clusterHash(cluster: string): u64 {
    if (cluster == this.lastCluster) return this.lastClusterHash;
    let h: u64;
    if (this.clusterHashes.has(cluster)) h = this.clusterHashes.get(cluster);
    else {
      h = hashString(cluster);
      if (this.clusterHashes.size > 4096) this.clusterHashes.clear();
      this.clusterHashes.set(cluster, h);
    }
    this.lastCluster = cluster;
    this.lastClusterHash = h;
    return h;
  }

  /**
   * on_request_headers and on_response_headers: `real` is the cluster just read from the host. Returns
   * whether it is the one assumed (the first read makes it so); another one ends the assumption.
   */
  confirm(real: string | null, nowMs: u64): bool {
    if (!this.known) {
      this.known = true;
      this.name = real;
      this.lastRefreshMs = nowMs;
      return true;
    }
    if (real == this.name) return true;
    if (!this.exact) this.other = real == null ? "(none)" : real!;
    this.exact = true;
    return false;
  }

  /**
   * on_tick: once, after a read of another cluster ended the assumption, the two clusters
   * ("first, other") for a log line; "" before that and after that once.
   */
  takeEnding(): string {
    if (this.other.length == 0) return "";
    const first = this.name;
    const both = (first == null ? "(none)" : first!) + ", " + this.other;
    this.other = ""; // set only when the assumption ends, which happens once
    return both;
  }
}
