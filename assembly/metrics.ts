// Counters and gauges, defined through proxy_define_metric. Envoy shows them in /stats as
// wasmcustom.room_affinity.<name> (Prometheus: envoy_wasmcustom_room_affinity_<name>).
import { MetricType } from "./abi/imports";
import { defineMetric, incrementMetric, recordMetric } from "./abi/host";

export class Metrics {
  pins: u32 = defineMetric(MetricType.Counter, "room_affinity.pins");
  hits: u32 = defineMetric(MetricType.Counter, "room_affinity.hits");
  misses: u32 = defineMetric(MetricType.Counter, "room_affinity.misses");
  repins: u32 = defineMetric(MetricType.Counter, "room_affinity.repins");
  fallbackRepins: u32 = defineMetric(MetricType.Counter, "room_affinity.repins_after_fallback");
  learned: u32 = defineMetric(MetricType.Counter, "room_affinity.learned");
  unplaced: u32 = defineMetric(MetricType.Counter, "room_affinity.unplaced");
  contended: u32 = defineMetric(MetricType.Counter, "room_affinity.cas_contended");
  casRetries: u32 = defineMetric(MetricType.Counter, "room_affinity.cas_retries");
  evictedCapacity: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.capacity");
  evictedExpired: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.expired");
  evictedGone: u32 = defineMetric(MetricType.Counter, "room_affinity.evictions.pod_gone");
  tableEntries: u32 = defineMetric(MetricType.Gauge, "room_affinity.table.entries");
  sweptBuckets: u32 = defineMetric(MetricType.Counter, "room_affinity.sweep.buckets_visited");
  sweepCycles: u32 = defineMetric(MetricType.Counter, "room_affinity.sweep.cycles");
  passthroughNoKey: u32 = defineMetric(MetricType.Counter, "room_affinity.passthrough.missing_key");
  rejectNoKey: u32 = defineMetric(MetricType.Counter, "room_affinity.rejects.missing_key");
  rejectKeyTooLong: u32 = defineMetric(MetricType.Counter, "room_affinity.rejects.key_too_long");
  membershipFetches: u32 = defineMetric(MetricType.Counter, "room_affinity.membership.fetches");
  membershipFetchFailures: u32 = defineMetric(MetricType.Counter, "room_affinity.membership.fetch_failures");
  membershipHosts: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.hosts");
  membershipEligibleHosts: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.eligible_hosts");
  snapshotAgeMs: u32 = defineMetric(MetricType.Gauge, "room_affinity.membership.snapshot_age_ms");

  inc(id: u32): void { incrementMetric(id, 1); }
  add(id: u32, n: i64): void { if (n != 0) incrementMetric(id, n); }
  set(id: u32, v: u64): void { recordMetric(id, v); }
}
