// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The alert rules and the Grafana dashboard of deploy/observability/, in one place so a test can check
// every expression against the metrics a real Envoy with the plugin exports. Metric names are as
// Prometheus receives them from Envoy's /stats/prometheus: the plugin's metrics live in Envoy's custom
// "wasmcustom" namespace, which that output drops, so wasmcustom.room_affinity.hits_total arrives as
// room_affinity_hits_total.

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  severity: "warning" | "critical";
  summary: string;
  description: string;
}

export const ALERTS: AlertRule[] = [
  {
    alert: "RoomAffinityTableTooSmall",
    expr: "sum by (namespace, pod) (rate(room_affinity_evictions_capacity_total[10m])) > 0",
    for: "15m",
    severity: "warning",
    summary: "The room table evicts live rooms: raise capacity",
    description:
      "{{ $labels.pod }} evicts rooms because their bucket is full. An evicted room that is still playing loses its pin. Raise the plugin's capacity (to 1.5x the rooms alive within entryTtlSeconds); the old table is read through, so the change moves no room.",
  },
  {
    alert: "RoomAffinityPinHeaderUnread",
    expr: "sum by (namespace, pod) (increase(room_affinity_pin_header_unread_total[10m])) > 0",
    for: "0m",
    severity: "critical",
    summary: "stateful_session does not read the plugin's pin header",
    description:
      "On {{ $labels.pod }} a pin was not honoured and stateful_session never read it: its HeaderBasedSessionState name differs from the plugin's pinHeader. Until fixed, clients can choose their pod and rooms move on every membership change.",
  },
  {
    alert: "RoomAffinityRoomsRefusedElsewhere",
    expr: "sum by (namespace, pod) (rate(room_affinity_rejects_room_elsewhere_total[10m])) > 0.05",
    for: "20m",
    severity: "warning",
    summary: "Players keep reaching another pod than their room's",
    description:
      "{{ $labels.pod }} refuses players with room_affinity_room_elsewhere for 20 minutes, longer than any membership change lasts: the gateway's load balancer probably does not hash on the plugin's hashHeader (MAGLEV or RING_HASH with a hash_policy on it).",
  },
  {
    alert: "RoomAffinityDirectoryFailingOpen",
    expr: "sum by (namespace, pod) (rate(room_affinity_directory_failures_total[5m])) > 0",
    for: "5m",
    severity: "warning",
    summary: "The room directory fails: replicas no longer share new rooms",
    description:
      "{{ $labels.pod }} cannot use the room directory (etcd or Redis): down, slow, refusing or answering garbage. Joins fail open (each waits at most the directory timeout), so rooms created now can split across gateway replicas. The gateway log names the reason once per reason.",
  },
  {
    alert: "RoomAffinityMembershipStale",
    expr: "max by (namespace, pod) (room_affinity_membership_snapshot_age_seconds) > 30",
    for: "5m",
    severity: "warning",
    summary: "The plugin's view of the pods is stale",
    description:
      "{{ $labels.pod }}'s newest membership snapshot is older than 30 s: admin /clusters fetches stopped (stock Envoy). Routing is unaffected, but pins of pods that left are no longer swept.",
  },
  {
    alert: "RoomAffinityHostCallFailures",
    expr: "sum by (namespace, pod) (increase(room_affinity_host_call_failures_total[10m])) > 0",
    for: "0m",
    severity: "warning",
    summary: "The gateway refuses host calls the plugin relies on",
    description:
      "{{ $labels.pod }}'s gateway answered host calls with statuses the plugin does not expect; its log names each call and status once. The plugin may be running on a gateway version it was not built for.",
  },
];

/** A Kubernetes PrometheusRule (prometheus-operator) with the alerts. */
export function prometheusRule(): object {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "room-affinity", namespace: "higress-system", labels: { app: "room-affinity" } },
    spec: {
      groups: [
        {
          name: "room-affinity",
          rules: ALERTS.map((a) => ({
            alert: a.alert,
            expr: a.expr,
            for: a.for,
            labels: { severity: a.severity },
            annotations: { summary: a.summary, description: a.description },
          })),
        },
      ],
    },
  };
}

interface PanelSpec {
  title: string;
  unit: string;
  targets: [string, string][];
}

const PANELS: PanelSpec[] = [
  {
    title: "Joins by decision (per second)",
    unit: "ops",
    targets: [
      ["sum(rate(room_affinity_hits_total[1m]))", "hit: pinned to its pod"],
      ["sum(rate(room_affinity_misses_total[1m]))", "new room: placed by the hash"],
      ["sum(rate(room_affinity_learned_total[1m]))", "learned on 101"],
      ["sum(rate(room_affinity_repins_total[1m]))", "re-pinned (pod gone)"],
      ["sum(rate(room_affinity_pins_withheld_pod_down_total[1m]))", "not pinned: pod failing its health check"],
      ["sum(rate(room_affinity_adopted_total[1m]))", "adopted from an older table"],
    ],
  },
  {
    title: "Refused and passed (per second)",
    unit: "ops",
    targets: [
      ["sum(rate(room_affinity_rejects_room_elsewhere_total[1m]))", "refused: room elsewhere (503)"],
      ["sum(rate(room_affinity_rejects_missing_key_total[1m]))", "refused: missing key (400)"],
      ["sum(rate(room_affinity_rejects_key_too_long_total[1m]))", "refused: key too long (400)"],
      ["sum(rate(room_affinity_passthrough_missing_key_total[1m]))", "passed: no key"],
    ],
  },
  {
    title: "Room table",
    unit: "short",
    targets: [["max by (pod) (room_affinity_table_entries)", "rooms {{pod}}"]],
  },
  {
    title: "Evictions (per second)",
    unit: "ops",
    targets: [
      ["sum(rate(room_affinity_evictions_capacity_total[5m]))", "bucket full (table too small)"],
      ["sum(rate(room_affinity_evictions_expired_total[5m]))", "expired"],
      ["sum(rate(room_affinity_evictions_pod_gone_total[5m]))", "pod gone"],
    ],
  },
  {
    title: "Room directory lookups (per second)",
    unit: "ops",
    targets: [
      ["sum(rate(room_affinity_directory_waits_total[1m]))", "joins that waited"],
      ["sum(rate(room_affinity_directory_found_total[1m]))", "found (another replica's room)"],
      ["sum(rate(room_affinity_directory_absent_total[1m]))", "absent (new everywhere)"],
      ["sum(rate(room_affinity_directory_failures_total[1m]))", "failed (joins failed open)"],
      ["sum(rate(room_affinity_directory_busy_total[1m]))", "busy (did not wait)"],
      ["sum(rate(room_affinity_directory_conflicts_total[1m]))", "write conflicts (followed another replica)"],
    ],
  },
  {
    title: "Room directory lookup time",
    unit: "ms",
    targets: [
      ["histogram_quantile(0.5, sum by (le) (rate(room_affinity_directory_lookup_milliseconds_bucket[5m])))", "p50"],
      ["histogram_quantile(0.99, sum by (le) (rate(room_affinity_directory_lookup_milliseconds_bucket[5m])))", "p99"],
    ],
  },
  {
    title: "Membership",
    unit: "short",
    targets: [
      ["max by (pod) (room_affinity_membership_eligible_hosts)", "pods taking new rooms {{pod}}"],
      ["max by (pod) (room_affinity_membership_hosts)", "pods {{pod}}"],
      ["max by (pod) (room_affinity_membership_snapshot_age_seconds)", "snapshot age (s) {{pod}}"],
    ],
  },
  {
    title: "Problems",
    unit: "short",
    targets: [
      ["sum(increase(room_affinity_pin_header_unread_total[10m]))", "pins stateful_session did not read"],
      ["sum(increase(room_affinity_host_call_failures_total[10m]))", "host calls refused"],
      ["sum(increase(room_affinity_cas_contended_total[10m]))", "table writes given up"],
    ],
  },
];

/** A Grafana dashboard (schema 39) over a Prometheus data source chosen when importing it. */
export function grafanaDashboard(): object {
  return {
    title: "room-affinity",
    uid: "room-affinity",
    schemaVersion: 39,
    tags: ["room-affinity", "envoy", "higress"],
    time: { from: "now-1h", to: "now" },
    refresh: "30s",
    templating: {
      list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }],
    },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana dashboard variable, not a template
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.targets.map(([expr, legendFormat], k) => ({ refId: String.fromCharCode(65 + k), expr, legendFormat })),
    })),
  };
}

/** Every metric name a PromQL expression names (identifiers starting room_affinity_). */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\broom_affinity_[a-z_]+/g)].map((m) => m[0]);
}
