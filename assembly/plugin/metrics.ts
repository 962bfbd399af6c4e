// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Counters and gauges, defined through proxy_define_metric. Envoy shows them in /stats as
// wasmcustom.room_affinity.<name>; its Prometheus output drops the custom namespace (room_affinity_<name>).
// Counters end in _total and durations are in seconds, as Prometheus's conventions ask.
import { MetricType } from "../abi/imports";
import { defineMetric, incrementMetric, recordMetric } from "../abi/host";
import { Outcome, Resolution } from "../table/table";
import { BucketCopies } from "../table/bucket-copies";
import { RequestDecision, RequestAction, PassReason, ResponseDecision, ResponseAction, Rejection } from "../request/decision";

export class Metrics {
  /** Joins of a room the table knows: pinned to its pod (published on each tick). */
  hits: u32 = defineMetric(MetricType.Counter, "room_affinity.hits_total");
  /** Joins of a room the table does not know: the gateway's hash on the room places it. */
  misses: u32 = defineMetric(MetricType.Counter, "room_affinity.misses_total");
  /** New rooms recorded where the gateway placed them (on a 101). */
  learned: u32 = defineMetric(MetricType.Counter, "room_affinity.learned_total");
  /** Rooms moved to where the gateway sent them because their pinned pod was not usable. */
  repins: u32 = defineMetric(MetricType.Counter, "room_affinity.repins_total");
  /** Joins of known rooms not pinned: the health check has failed their pod for a tick, since the room was last joined. */
  pinsPodDown: u32 = defineMetric(MetricType.Counter, "room_affinity.pins_withheld.pod_down_total");
  /** Upgrades refused (503) because the player reached another pod than its room's; the retry joins the room. */
  rejectElsewhere: u32 = defineMetric(MetricType.Counter, "room_affinity.rejects.room_elsewhere_total");
  /** Unhonoured pins that the pin mechanism never read (stateful_session reads another header). */
  pinUnread: u32 = defineMetric(MetricType.Counter, "room_affinity.pin_header_unread_total");
  /** Rooms carried over from the table of a previous geometry (capacity, bucketSize, sharedDataPrefix). */
  adopted: u32 = defineMetric(MetricType.Counter, "room_affinity.adopted_total");
  contended: u32 = defineMetric(MetricType.Counter, "room_affinity.cas_contended_total");
  casRetries: u32 = defineMetric(MetricType.Counter, "room_affinity.cas_retries_total");
  evictedCapacity: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.capacity_total");
  evictedExpired: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.expired_total");
  evictedGone: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.pod_gone_total");
  evictedStale: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.pod_failed_total");
  tableEntries: u32 = defineMetric(MetricType.Gauge, "room_affinity.table.entries");
  sweptBuckets: u32 = defineMetric(MetricType.Counter, "room_affinity.sweep.buckets_visited_total");
  sweepCycles: u32 = defineMetric(MetricType.Counter, "room_affinity.sweep.cycles_total");
  passthroughNoKey: u32 = defineMetric(MetricType.Counter, "room_affinity.passthrough.missing_key_total");
  rejectNoKey: u32 = defineMetric(MetricType.Counter, "room_affinity.rejects.missing_key_total");
  rejectKeyTooLong: u32 = defineMetric(MetricType.Counter, "room_affinity.rejects.key_too_long_total");
  membershipFetches: u32 = defineMetric(MetricType.Counter, "room_affinity.membership.fetches_total");
  membershipFetchFailures: u32 = defineMetric(MetricType.Counter, "room_affinity.membership.fetch_failures_total");
  membershipHosts: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.hosts");
  membershipEligibleHosts: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.eligible_hosts");
  snapshotAgeSeconds: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.snapshot_age_seconds");
  /** Host calls that answered an unexpected status, summed over every VM (each adds what it saw since its last tick). */
  hostCallFailures: u32 = defineMetric(MetricType.Counter, "room_affinity.host_call_failures_total");
  /** Bucket reads this worker's copy answered (only the bucket's stamp was read); published on each tick. */
  copiesServed: u32 = defineMetric(MetricType.Counter, "room_affinity.bucket_copies.served_total");
  /** Bucket reads with copies on that the copy could not answer (one stamp read more than without copies); published on each tick. */
  copiesMissed: u32 = defineMetric(MetricType.Counter, "room_affinity.bucket_copies.missed_total");
  /** Joins of rooms this replica did not know that waited for a directory lookup. */
  dirWaits: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.waits_total");
  /** Lookups that found the room in the directory (placed by another replica, or before a restart). */
  dirFound: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.found_total");
  /** Lookups that did not find the room: a new room everywhere. */
  dirAbsent: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.absent_total");
  /** Joins that did not wait because maxLookupsInFlight lookups were in flight (failed open). */
  dirBusy: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.busy_total");
  /** Directory calls that failed: not sent, timed out, an error status, a malformed reply (failed open). */
  dirFailures: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.failures_total");
  /** Writes sent: claims of new rooms, moves after a pod left, refreshes of known rooms. */
  dirWrites: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.writes_total");
  /** Upgrades whose 101 waited for the directory to settle their room's pod (a claim or a move). */
  dirHeld: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.held_upgrades_total");
  /** Writes that found another pod in the directory: this replica now follows it. */
  dirConflicts: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.conflicts_total");
  /** How long directory lookups took, dispatch to reply or failure (a histogram, in milliseconds). */
  dirLookupMs: u32 = defineMetric(MetricType.Histogram, "room_affinity.directory.lookup_milliseconds");
  /** Directory values ignored because they are not a member of the routed cluster. */
  dirRejected: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.rejected_values_total");
  /** Pod failures this gateway learned from other replicas through the directory (its sweeper then acts on them). */
  dirFailuresLearned: u32 = defineMetric(MetricType.Counter, "room_affinity.directory.pod_failures_learned_total");

  /**
   * Joins of known rooms since the last tick. The commonest request of all is counted here and published
   * on each tick (publish), so it makes no host call: each one costs Envoy more than the count is worth.
   */
  private unpublishedHits: u64 = 0;

  /**
   * on_tick: publishes the counts kept in the module since the last tick (hits, and the reads of
   * the table's bucket copies when there is a table).
   */
  publish(copies: BucketCopies | null): void {
    if (this.unpublishedHits != 0) {
      incrementMetric(this.hits, <i64>this.unpublishedHits);
      this.unpublishedHits = 0;
    }
    if (copies == null) return;
    const counts = copies.takeCounts();
    this.add(this.copiesServed, <i64>counts[0]);
    this.add(this.copiesMissed, <i64>counts[1]);
  }

  inc(id: u32): void {
    incrementMetric(id, 1);
  }
  add(id: u32, n: i64): void {
    if (n != 0) incrementMetric(id, n);
  }
  set(id: u32, v: u64): void {
    recordMetric(id, v);
  }

  /** on_request_headers: counts what the decision did. */
  countRequest(d: RequestDecision): void {
    switch (d.action) {
      case RequestAction.Reject:
        this.inc(d.rejection == Rejection.MissingKey ? this.rejectNoKey : this.rejectKeyTooLong);
        break;
      case RequestAction.PassThrough:
        if (d.passReason == PassReason.MissingKey) this.inc(this.passthroughNoKey);
        break;
      default:
        this.countResolution(d);
    }
  }

  /** on_response_headers: counts a learned or corrected pin. */
  countResponse(d: ResponseDecision): void {
    const res = d.resolution;
    if (res == null) return;
    if (d.action == ResponseAction.Learned && res.outcome == Outcome.Pinned) this.inc(this.learned);
    if (d.conflict) this.inc(this.rejectElsewhere);
    if (d.action == ResponseAction.Corrected && res.outcome == Outcome.Repinned) this.inc(this.repins);
    if (res.outcome == Outcome.Contended) this.inc(this.contended);
    this.countWrites(res);
  }

  private countResolution(d: RequestDecision): void {
    const res = d.resolution!;
    if (res.outcome == Outcome.Hit) this.unpublishedHits++;
    else this.inc(this.misses);
    if (res.podDown) this.inc(this.pinsPodDown);
    if (d.adopted) this.inc(this.adopted);
    this.countWrites(res);
  }

  private countWrites(res: Resolution): void {
    this.add(this.casRetries, res.casRetries);
    this.add(this.evictedCapacity, res.evictedForCapacity);
    this.add(this.evictedExpired, res.evictedExpired);
  }
}
