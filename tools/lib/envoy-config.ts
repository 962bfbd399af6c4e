// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Renders the Envoy configuration used by the trial, the tests and (checked in) deploy/envoy/:
// a bootstrap with a static listener whose routes (RDS), endpoints (EDS) and plugin config (ECDS)
// come from files, so a running Envoy is changed the way a control plane would change it.
import fs from "node:fs";
import path from "node:path";
import { toYaml } from "./yaml";

export const CLUSTER = "game_pods";
/** The second game cluster of a layout with `secondCluster`. */
export const SECOND_CLUSTER = "game_pods_b";
export const ADMIN_CLUSTER = "room_affinity_admin";
/** The cluster the plugin's room directory calls (its `directory.cluster` default). */
export const DIRECTORY_CLUSTER = "room_affinity_directory";
export const ROUTE_CONFIG = "game_routes";
export const FILTER_NAME = "room-affinity";
export const PIN_HEADER = "x-room-affinity-pin";
/** The plugin's fallbackHeader in the deployments here, as in deploy/envoy. */
export const FALLBACK_HEADER = "x-room-affinity-next";
/** The plugin's room hash header (its `hashHeader`), which the route hashes on. */
export const HASH_HEADER = "x-room-affinity-hash";

export interface Endpoint {
  host: string;
  port: number;
  /** EDS health status: HEALTHY (default), DRAINING, UNHEALTHY. */
  health?: "HEALTHY" | "DRAINING" | "UNHEALTHY";
}

export interface Layout {
  /** Directory holding the xDS files (rds.yaml, eds.yaml, ecds.yaml) and the access log. */
  dir: string;
  listenHost: string;
  listenPort: number;
  adminPort: number;
  /** Where admin listens (default loopback; a container publishes it from 0.0.0.0). */
  adminHost?: string;
  /** The access log: a file (default `<dir>/access.log`), "stdout" (Envoy's own stdout, as containers log), or "off". */
  accessLog?: string;
  wasmPath: string;
  /** Plugin configuration, as JSON text (passed through unchanged, so invalid JSON can be tested too). */
  pluginConfig: string;
  endpoints: Endpoint[];
  /** Deliver the plugin config by ECDS (hot-reloadable) instead of inline in the listener. */
  ecds?: boolean;
  /** Put stateful_session (the stock-Envoy pin mechanism) in the chain; false for baseline comparisons. */
  statefulSession?: boolean;
  /** Leave the wasm filter out (baseline). */
  plugin?: boolean;
  /** Envoy-native hashing on query parameters instead of the plugin (comparison baseline). */
  hashQueryParams?: string[];
  /** Default: MAGLEV hashing on the plugin's room hash header when the plugin is in, else ROUND_ROBIN. */
  lbPolicy?: "ROUND_ROBIN" | "MAGLEV" | "RING_HASH";
  /**
   * The plugin's fallbackHeader: the game cluster then balances with Envoy's override_host policy reading
   * it (a new room goes to its first ranked pod, a retried join to the next), MAGLEV on the room hash
   * underneath. Default
   * FALLBACK_HEADER where the plugin pins on a MAGLEV cluster, as deploy/envoy does; "" for none
   * (gateway replicas sharing a directory run without it).
   */
  fallbackHeader?: string;
  /** The header stateful_session reads (default PIN_HEADER; another name only to test a mismatch). */
  sessionHeader?: string;
  /** Deliver the listener by LDS (a file) instead of statically; used to show which changes drain. */
  lds?: boolean;
  /** Active HTTP health checks on the game cluster (default on): a crashed pod is noticed in ~1 s. */
  healthCheck?: boolean;
  /** Outlier detection on the game cluster (OUTLIER_DETECTION; default off, as in the deploy files). */
  outlierDetection?: boolean;
  /** The route retries a join whose connection failed, on another pod (default on): see routes(). Off for
   *  several replicas: two replicas can send a room's retried and unretried players to two pods. */
  retries?: boolean;
  /**
   * Pins are honoured to pods the health check marks failed (override_host_status adds UNHEALTHY): a
   * pinned join then learns from its own connection whether the pod is down. Default: on with a
   * fallbackHeader, whose new rooms follow the plugin's membership read rather than Envoy's health
   * check, and replicas sharing a directory set it, since each replica's check is its own.
   */
  pinsIgnoreHealth?: boolean;

  /** The room directory's store (etcd's client port on loopback): adds the DIRECTORY_CLUSTER. */
  directoryPort?: number;
  /**
   * A second game cluster (SECOND_CLUSTER) with pods of its own, routed to when a request carries the
   * header `matchHeader`: the same path, so one room key can reach two clusters (a canary, say).
   */
  secondCluster?: { matchHeader: string; endpoints: Endpoint[] };
}

const srcPath = (p: string) => ({ path_config_source: { path: p }, resource_api_version: "V3" });

export function wasmFilterConfig(l: Layout): object {
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
    config: {
      name: FILTER_NAME,
      root_id: FILTER_NAME,
      vm_config: {
        vm_id: FILTER_NAME,
        runtime: "envoy.wasm.runtime.v8",
        code: { local: { filename: l.wasmPath } },
      },
      configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: withFallbackHeader(l) },
      // A failed VM is reloaded rather than failing every request (FAIL_CLOSED) or dropping affinity
      // for good (FAIL_OPEN); the table lives in shared data, so a reloaded VM keeps every pin.
      failure_policy: "FAIL_RELOAD",
    },
  };
}

export function bootstrap(l: Layout): object {
  return bootstrapWith(l, listenerOf(l));
}

/** The game listener: HCM with the wasm filter, stateful_session and the router; routes by RDS. */
export function listenerOf(l: Layout): object {
  const httpFilters: object[] = [];
  if (l.plugin !== false) {
    if (l.ecds !== false) {
      httpFilters.push({
        name: FILTER_NAME,
        config_discovery: {
          config_source: srcPath(path.join(l.dir, "ecds.yaml")),
          type_urls: ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"],
        },
      });
    } else {
      httpFilters.push({ name: FILTER_NAME, typed_config: wasmFilterConfig(l) });
    }
  }
  if (l.statefulSession !== false) {
    httpFilters.push({
      name: "envoy.filters.http.stateful_session",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
        session_state: {
          name: "envoy.http.stateful_session.header",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState",
            name: l.sessionHeader ?? PIN_HEADER,
          },
        },
        // Not strict: a pin to a pod that is gone falls back to the load balancer rather than 503.
        strict: false,
      },
    });
  }
  httpFilters.push({
    name: "envoy.filters.http.router",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
  });

  return {
    name: "game_listener",
    address: { socket_address: { address: l.listenHost, port_value: l.listenPort } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: "game",
              codec_type: "AUTO",
              upgrade_configs: [{ upgrade_type: "websocket" }],
              // Game sockets live for the whole game: no idle timeout on the stream.
              stream_idle_timeout: "0s",
              delayed_close_timeout: DELAYED_CLOSE_TIMEOUT,
              rds: { route_config_name: ROUTE_CONFIG, config_source: srcPath(path.join(l.dir, "rds.yaml")) },
              http_filters: httpFilters,
              access_log: l.accessLog === "off" ? [] : [accessLog(l)],
            },
          },
        ],
      },
    ],
  };
}

const ACCESS_LOG_FORMAT = {
  text_format_source: {
    // The room and the plugin's decision (plugin setting logDecision; "-" without it), then the pod it reached.
    inline_string:
      "%START_TIME% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %UPSTREAM_HOST% %DOWNSTREAM_REMOTE_ADDRESS% " +
      "room=%FILTER_STATE(wasm.room_affinity_key:PLAIN)% decision=%FILTER_STATE(wasm.room_affinity_decision:PLAIN)%\n",
  },
};

function accessLog(l: Layout): object {
  if (l.accessLog === "stdout") {
    return {
      name: "envoy.access_loggers.stdout",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
        log_format: ACCESS_LOG_FORMAT,
      },
    };
  }
  return {
    name: "envoy.access_loggers.file",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
      path: l.accessLog ?? path.join(l.dir, "access.log"),
      log_format: ACCESS_LOG_FORMAT,
    },
  };
}

/** The bootstrap: admin, the game listener (static, or by LDS), the game cluster (EDS) and the admin cluster. */
function bootstrapWith(l: Layout, listener: object): object {
  return {
    node: { id: "room-affinity-trial", cluster: "room-affinity-trial" },
    admin: { address: { socket_address: { address: l.adminHost ?? "127.0.0.1", port_value: l.adminPort } } },
    ...(l.lds ? { dynamic_resources: { lds_config: srcPath(path.join(l.dir, "lds.yaml")) } } : {}),
    static_resources: {
      listeners: l.lds ? [] : [listener],
      clusters: [
        gameCluster(l, CLUSTER, "eds.yaml"),
        ...(l.secondCluster === undefined ? [] : [gameCluster(l, SECOND_CLUSTER, "eds-b.yaml")]),
        ...(l.directoryPort === undefined
          ? []
          : [
              {
                // The room directory shared by the gateway replicas (etcd's JSON gateway, HTTP/1.1).
                name: DIRECTORY_CLUSTER,
                type: "STATIC",
                connect_timeout: "0.25s",
                load_assignment: {
                  cluster_name: DIRECTORY_CLUSTER,
                  endpoints: [
                    {
                      lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: l.directoryPort } } } }],
                    },
                  ],
                },
              },
            ]),
        {
          // Loopback-only route from the plugin's tick to Envoy's own admin /clusters (membership).
          name: ADMIN_CLUSTER,
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: ADMIN_CLUSTER,
            endpoints: [
              { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: l.adminPort } } } }] },
            ],
          },
        },
      ],
    },
  };
}

/** A game cluster: endpoints by EDS from `edsFile`, hashing on the room, pins honoured to draining pods. */
function gameCluster(l: Layout, name: string, edsFile: string): object {
  return {
    name,
    type: "EDS",
    connect_timeout: "1s",
    eds_cluster_config: { eds_config: srcPath(path.join(l.dir, edsFile)) },
    ...balancing(l),
    common_lb_config: {
      // Never route to unhealthy pods, however many there are: Envoy's default (panic below 50%
      // healthy) would send rooms to crashed pods and scatter them once half the pods are down.
      healthy_panic_threshold: { value: 0 },
      // Pinned rooms may keep reaching a DRAINING pod (old rooms finish there); new rooms never go there.
      override_host_status: { statuses: ["UNKNOWN", "HEALTHY", "DRAINING", ...(pinsIgnoreHealth(l) ? ["UNHEALTHY"] : [])] },
      // Apply host changes at once. By default Envoy merges health-check results within 1 s, so a
      // pod added while the others drain stays unusable until the window ends (no_healthy_upstream).
      update_merge_window: "0s",
    },
    // Every WebSocket holds an upstream connection: Envoy's default limits (1024 connections and
    // 1024 pending requests per cluster) would queue the 1025th player forever, and its default of
    // 3 retries at once would fail every other join that a crashed pod refused.
    circuit_breakers: {
      thresholds: [
        { priority: "DEFAULT", max_connections: 1000000, max_pending_requests: 1000000, max_requests: 1000000, max_retries: 1000000 },
      ],
    },
    // An endpoint removed by the control plane is gone now, even while it still passes health checks.
    ignore_health_on_host_removal: true,
    ...(l.outlierDetection ? { outlier_detection: OUTLIER_DETECTION } : {}),
    ...(l.healthCheck === false
      ? {}
      : {
          // Like a readiness probe, but seen by the gateway itself within a second of a crash.
          health_checks: [
            {
              timeout: "0.5s",
              interval: "1s",
              no_traffic_interval: "1s",
              unhealthy_threshold: 1,
              healthy_threshold: 1,
              http_health_check: { path: "/healthz" },
            },
          ],
        }),
  };
}

/** Whether pins reach pods the health check failed (see Layout.pinsIgnoreHealth). */
function pinsIgnoreHealth(l: Layout): boolean {
  return l.pinsIgnoreHealth ?? fallbackHeaderOf(l) !== "";
}

/** The header the plugin writes and the cluster reads, "" if none (see Layout.fallbackHeader). */
export function fallbackHeaderOf(l: Layout): string {
  if (l.fallbackHeader !== undefined) return l.fallbackHeader;
  return l.plugin !== false && l.statefulSession !== false && !l.hashQueryParams && lbPolicyOf(l) === "MAGLEV" ? FALLBACK_HEADER : "";
}

/** The plugin configuration with the layout's fallbackHeader, unless it sets one itself (or is not a JSON object). */
function withFallbackHeader(l: Layout): string {
  const header = fallbackHeaderOf(l);
  if (header === "") return l.pluginConfig;
  try {
    const c = JSON.parse(l.pluginConfig);
    if (c === null || typeof c !== "object" || Array.isArray(c) || "fallbackHeader" in c) return l.pluginConfig;
    return JSON.stringify({ ...c, fallbackHeader: header });
  } catch {
    return l.pluginConfig;
  }
}

/**
 * The cluster's load balancer: `lb_policy`, or with a fallbackHeader Envoy's override_host policy over
 * MAGLEV (the pods the header names are tried in order, one per attempt; a request without it is hashed).
 */
function balancing(l: Layout): object {
  const header = fallbackHeaderOf(l);
  if (header === "" || lbPolicyOf(l) !== "MAGLEV") return { lb_policy: lbPolicyOf(l) };
  return {
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: "envoy.load_balancing_policies.override_host",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
              override_host_sources: [{ header }],
              fallback_policy: {
                policies: [
                  {
                    typed_extension_config: {
                      name: "envoy.load_balancing_policies.maglev",
                      typed_config: { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.maglev.v3.Maglev" },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    },
  };
}

/** MAGLEV when the route hashes (on the plugin's room hash, or on query parameters), else round robin. */
function lbPolicyOf(l: Layout): string {
  return l.lbPolicy ?? (l.plugin !== false || l.hashQueryParams ? "MAGLEV" : "ROUND_ROBIN");
}

/**
 * How long Envoy lingers before closing a client connection it ends (a pod died under the player's
 * socket). Envoy's default of 1 s delays every reconnect by a second; 0.1 s still lets a client read
 * a final reply before the close.
 */
export const DELAYED_CLOSE_TIMEOUT = "0.1s";

/**
 * Outlier detection on local-origin errors (two in a row: refused, reset, connect or per-try timeout),
 * for `npm run compare -- --outlier-detection` only. The deploy files leave it out: Envoy counts every
 * WebSocket a pod closes as an upstream reset, so players leaving together eject healthy pods
 * (docs/stock-envoy.md).
 */
export const OUTLIER_DETECTION = {
  split_external_local_origin_errors: true,
  consecutive_local_origin_failure: 2,
  enforcing_consecutive_local_origin_failure: 100,
  interval: "1s",
  base_ejection_time: "5s",
  max_ejection_percent: 50,
  enforcing_consecutive_5xx: 0,
  enforcing_consecutive_gateway_failure: 0,
  enforcing_success_rate: 0,
  enforcing_local_origin_success_rate: 0,
  enforcing_failure_percentage: 0,
  enforcing_failure_percentage_local_origin: 0,
};

/** The longest a join waits for its upgrade, over all attempts (Envoy answers 504 then). */
export const UPGRADE_TIMEOUT = "5s";

/**
 * A join whose connection fails (a crashed pod still listed), is reset, or gets no answer within a
 * second (a hung pod) is retried on another pod, up to 3 times, before the player sees an error. The
 * retry is placed by the same hash with the failed pod excluded, so a room's retried players meet.
 */
export const RETRY_POLICY = {
  retry_on: "connect-failure,refused-stream,reset",
  num_retries: 3,
  per_try_timeout: "1s",
  retry_host_predicate: [
    {
      name: "envoy.retry_host_predicates.previous_hosts",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" },
    },
  ],
  host_selection_retry_max_attempts: 16,
};

export function routes(l: Layout, version = 1): object {
  const routeTo = (cluster: string): Record<string, unknown> => {
    // Timeouts bound the handshake only: once a WebSocket upgrade is answered they no longer apply.
    const route: Record<string, unknown> = { cluster, timeout: l.retries === false ? "0s" : UPGRADE_TIMEOUT };
    if (l.retries !== false) route.retry_policy = RETRY_POLICY;
    if (l.hashQueryParams) route.hash_policy = l.hashQueryParams.map((name) => ({ query_parameter: { name } }));
    // The plugin puts the room's hash on every request of a room: new rooms, and pins the gateway cannot
    // honour, go where this hash sends them -- the same pod for every player of the room, on every worker.
    else if (l.plugin !== false) route.hash_policy = [{ header: { header_name: HASH_HEADER } }];
    return route;
  };
  const second =
    l.secondCluster === undefined
      ? []
      : [
          {
            name: "game-b",
            match: { prefix: "/", headers: [{ name: l.secondCluster.matchHeader, present_match: true }] },
            route: routeTo(SECOND_CLUSTER),
          },
        ];
  return {
    resources: [
      {
        "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
        name: ROUTE_CONFIG,
        virtual_hosts: [
          {
            name: "game",
            domains: ["*"],
            // The version travels in a response header so a test can see which routes served it.
            response_headers_to_add: [{ header: { key: "x-route-version", value: String(version) } }],
            // Named, so per-route rules (`_match_route_`) have something to match.
            routes: [...second, { name: "game", match: { prefix: "/" }, route: routeTo(CLUSTER) }],
          },
        ],
      },
    ],
  };
}

export function endpoints(l: Layout, cluster = CLUSTER, list: Endpoint[] = l.endpoints): object {
  return {
    resources: [
      {
        "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        cluster_name: cluster,
        endpoints: [
          {
            lb_endpoints: list.map((e) => ({
              endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } },
              health_status: e.health ?? "HEALTHY",
            })),
          },
        ],
      },
    ],
  };
}

export function listeners(l: Layout): object {
  return { resources: [{ "@type": "type.googleapis.com/envoy.config.listener.v3.Listener", ...listenerOf(l) }] };
}

export function extensionConfig(l: Layout): object {
  return {
    resources: [
      {
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        name: FILTER_NAME,
        typed_config: wasmFilterConfig(l),
      },
    ],
  };
}

/** Writes a file the way Envoy's file-based xDS wants updates: a temp file renamed over the watched one. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

const HEADER = "# Rendered by tools/lib/envoy-config.ts; edit that, not this file.\n";

/** Writes bootstrap.yaml and the xDS files (rds, eds, ecds; lds in LDS mode) into l.dir; returns the bootstrap path. */
export function writeAll(l: Layout, routeVersion = 1): string {
  fs.mkdirSync(l.dir, { recursive: true });
  writeAtomic(path.join(l.dir, "rds.yaml"), toYaml(routes(l, routeVersion), HEADER));
  writeAtomic(path.join(l.dir, "eds.yaml"), toYaml(endpoints(l), HEADER));
  if (l.secondCluster) writeAtomic(path.join(l.dir, "eds-b.yaml"), toYaml(endpoints(l, SECOND_CLUSTER, l.secondCluster.endpoints), HEADER));
  writeAtomic(path.join(l.dir, "ecds.yaml"), toYaml(extensionConfig(l), HEADER));
  if (l.lds) writeAtomic(path.join(l.dir, "lds.yaml"), toYaml(listeners(l), HEADER));
  const boot = path.join(l.dir, "bootstrap.yaml");
  writeAtomic(boot, toYaml(bootstrap(l), HEADER));
  return boot;
}
