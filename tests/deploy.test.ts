// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The deployment files users get: rendered from the same sources as the trial and the tests (no
// drift), every reference in docker-compose resolves, the Higress examples are configs the plugin
// accepts, and the docker-compose Envoy config really serves rooms in the real Envoy. Docker itself
// cannot run here: the compose file's Envoy config is run directly, with only container paths,
// addresses and ports substituted.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ROOT, scratchDir, WASM_ENVOY, envoyBinary } from "../tools/lib/paths";
import YAML from "yaml";
import {
  renderAll,
  composeFile,
  COMPOSE_DIR,
  COMPOSE_WASM_DIR,
  COMPOSE_PODS,
  ENVOY_IMAGE,
  HIGRESS_DEFAULT_CONFIG,
  HIGRESS_SETTINGS,
} from "../tools/render-deploy";
import { Redis } from "../tools/lib/redis";
import { higressReplica, joinThrough, hostsOf } from "../tools/lib/higress-replicas";
import { RETRY_POLICY } from "../tools/lib/envoy-config";
import { WasmVm, newProcess, adminClustersJson } from "../tools/lib/host-emulator";
import { startPodProcess } from "../tools/lib/pods";
import { join, closeAll } from "../tools/lib/clients";
import { httpGet } from "../tools/lib/http";
import { waitFor } from "../tools/lib/wait";
import { spawn } from "node:child_process";

test("checked-in deploy files equal what the renderer produces (no drift)", () => {
  for (const [rel, content] of renderAll()) {
    const file = path.join(ROOT, rel);
    assert.ok(fs.existsSync(file), `${rel} is missing: run node dist/tools/render-deploy.js`);
    assert.equal(fs.readFileSync(file, "utf8"), content, `${rel} drifted from tools/render-deploy.ts`);
  }
});

test("docker-compose references resolve and match the Envoy config", () => {
  const compose = composeFile();
  const base = path.join(ROOT, "deploy", "envoy");
  for (const svc of Object.values<any>(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const src = v.split(":")[0];
      assert.ok(fs.existsSync(path.resolve(base, src)), `compose volume source ${src} does not exist (after npm run build)`);
    }
  }
  const envoy = compose.services.envoy;
  const cfg = envoy.command[envoy.command.indexOf("-c") + 1];
  assert.equal(cfg, `${COMPOSE_DIR}/envoy.yaml`);
  assert.ok(fs.existsSync(path.join(base, path.basename(cfg))));
  // The image is the Envoy version the tests run.
  const setup = fs.readFileSync(path.join(ROOT, "scripts", "setup.sh"), "utf8");
  assert.equal(ENVOY_IMAGE, `envoyproxy/envoy:v${(setup.match(/ENVOY_VERSION="([\d.]+)"/) ?? [])[1]}`);
  // Pods sit where EDS says they are.
  const eds = fs.readFileSync(path.join(base, "eds.yaml"), "utf8");
  COMPOSE_PODS.forEach((ip, i) => {
    assert.equal(compose.services[`pod-${i + 1}`].networks.game.ipv4_address, ip);
    assert.ok(eds.includes(`address: "${ip}"`), `eds.yaml lacks ${ip}`);
  });
  // Every file the Envoy config names under the mount exists in deploy/envoy or is mounted.
  const boot = fs.readFileSync(path.join(base, "envoy.yaml"), "utf8") + fs.readFileSync(path.join(base, "ecds.yaml"), "utf8");
  for (const m of boot.matchAll(new RegExp(`"${COMPOSE_DIR}/([^"]+)"`, "g"))) {
    const name = m[1];
    assert.ok(fs.existsSync(path.join(base, name)), `${name} is referenced but not in deploy/envoy`);
  }
  assert.ok(envoy.volumes.includes(`./:${COMPOSE_DIR}:ro`), "the config is mounted read-only");
  assert.ok(
    boot.includes(`"${COMPOSE_WASM_DIR}/envoy.wasm"`) && envoy.volumes.includes(`../../build/envoy.wasm:${COMPOSE_WASM_DIR}/envoy.wasm:ro`),
    "the module is mounted where the config loads it",
  );
});

/** `kubectl kustomize DIR`, parsed: the objects a `kubectl apply -k DIR` would send. */
function kustomize(dir: string): any[] {
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  assert.equal(r.status, 0, `kubectl kustomize ${dir}: ${r.stderr}${r.error ?? ""}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
}

const HIGRESS = path.join(ROOT, "deploy", "higress");
const byKind = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);

test("the Higress base renders to a WasmPlugin with the Redis directory and an EnvoyFilter, and nothing of the user's", () => {
  const objs = kustomize(path.join(HIGRESS, "base"));
  assert.deepEqual(objs.map((o) => o.kind).sort(), ["EnvoyFilter", "WasmPlugin"]);
  const plugin = byKind(objs, "WasmPlugin")[0];
  assert.deepEqual(plugin.spec.defaultConfig.directory, HIGRESS_DEFAULT_CONFIG.directory);
  assert.equal(plugin.spec.imagePullPolicy, "Always");
  assert.deepEqual([plugin.spec.phase, plugin.spec.priority, plugin.spec.failStrategy], ["UNSPECIFIED_PHASE", 100, "FAIL_OPEN"]);
  const filter = byKind(objs, "EnvoyFilter")[0];
  assert.deepEqual(filter.spec.configPatches[0].match.cluster, {
    service: HIGRESS_SETTINGS.gameService,
    portNumber: HIGRESS_SETTINGS.gamePort,
  });
  assert.equal(filter.spec.configPatches[2].match.routeConfiguration.vhost.route.name, HIGRESS_SETTINGS.gameRoute);
  assert.equal(
    byKind(kustomize(path.join(HIGRESS, "redis-trial")), "Service")[0].metadata.name + ".higress-system.svc.cluster.local",
    HIGRESS_SETTINGS.redisService,
    "the base's Redis is the trial Redis",
  );
});

test("the values a user sets in settings.yaml reach the WasmPlugin and the EnvoyFilter, typed", () => {
  const dir = scratchDir("kustomize-settings");
  fs.cpSync(path.join(HIGRESS, "base"), dir, { recursive: true });
  const settings = YAML.parse(fs.readFileSync(path.join(dir, "settings.yaml"), "utf8"));
  const mine = {
    pluginUrl: "oci://reg.example.net/x/room-affinity:1.2.3-gabc1234",
    pluginSha256: "ab".repeat(32),
    gameService: "chess.games.svc.cluster.local",
    gamePort: 9443,
    gameRoute: "games/chess-ws",
    redisService: "redis.static",
    redisPort: 6380,
  };
  assert.deepEqual(Object.keys(settings.spec).sort(), Object.keys(mine).sort());
  fs.writeFileSync(path.join(dir, "settings.yaml"), YAML.stringify({ ...settings, spec: mine }));
  const objs = kustomize(dir);
  const plugin = byKind(objs, "WasmPlugin")[0];
  const filter = byKind(objs, "EnvoyFilter")[0];
  assert.deepEqual([plugin.spec.url, plugin.spec.sha256], [mine.pluginUrl, mine.pluginSha256]);
  assert.deepEqual(
    [plugin.spec.defaultConfig.directory.serviceName, plugin.spec.defaultConfig.directory.servicePort],
    [mine.redisService, mine.redisPort],
  );
  assert.deepEqual(filter.spec.configPatches[0].match.cluster, { service: mine.gameService, portNumber: mine.gamePort });
  assert.equal(filter.spec.configPatches[2].match.routeConfiguration.vhost.route.name, mine.gameRoute);
});

test("the base's WasmPlugin configures the Higress build; two replicas sharing a real Redis through it split 0 rooms in the two-replica scenario", async () => {
  const config = byKind(kustomize(path.join(HIGRESS, "base")), "WasmPlugin")[0].spec.defaultConfig;
  const single = byKind(kustomize(path.join(HIGRESS, "one-replica")), "WasmPlugin")[0].spec.defaultConfig;
  assert.equal(single.directory, undefined, "one-replica has no directory");
  // Join retries on the game route, with replicas too (the directory settles where a retried room lands).
  const routeOf = (dir: string) => byKind(kustomize(path.join(HIGRESS, dir)), "EnvoyFilter")[0].spec.configPatches[2].patch.value.route;
  assert.deepEqual(routeOf("base").retry_policy, RETRY_POLICY);
  assert.deepEqual(routeOf("one-replica").retry_policy, RETRY_POLICY);
  const redis = new Redis(scratchDir("kustomize-redis"), 26390);
  await redis.start();
  try {
    const run = async (pluginConfig: Record<string, any>, tag: string): Promise<number> => {
      const hosts = hostsOf(3);
      const [r1, r2] = [await higressReplica(pluginConfig, hosts, redis.port), await higressReplica(pluginConfig, hosts, redis.port)];
      const rooms = Array.from({ length: 100 }, (_, i) => `/ws?appId=k8s&roomId=${tag}${i}`);
      const home = new Map<string, string>();
      for (const room of rooms) home.set(room, await joinThrough(r1, room));
      hosts.push(...hostsOf(6).slice(3));
      let split = 0;
      for (const room of rooms)
        if ((await joinThrough(r2, room)) !== home.get(room) || (await joinThrough(r1, room)) !== home.get(room)) split++;
      return split;
    };
    const withDirectory = await run(config, "base");
    const without = await run(single, "one");
    console.log(
      `two Higress replicas, scale-out 3 -> 6 between a room's players, 100 rooms: base ${withDirectory} split, one-replica config ${without} split`,
    );
    assert.equal(withDirectory, 0);
    assert.ok(without > 20, "the control without a directory should split rooms");
  } finally {
    await redis.stop();
  }
});

test("the docker-compose Envoy config serves rooms in the real Envoy (paths, addresses and ports substituted)", async () => {
  const dir = scratchDir("deploy-envoy");
  const sub = (s: string) =>
    s
      .split(COMPOSE_WASM_DIR)
      .join(dir)
      .split(COMPOSE_DIR)
      .join(dir)
      .split("172.30.0.")
      .join("127.0.0.")
      .split('address: "0.0.0.0"')
      .join('address: "127.0.0.1"')
      .split("port_value: 10000")
      .join("port_value: 20510")
      .split("port_value: 9901")
      .join("port_value: 20511");
  for (const f of ["envoy.yaml", "rds.yaml", "eds.yaml", "ecds.yaml"]) {
    fs.writeFileSync(path.join(dir, f), sub(fs.readFileSync(path.join(ROOT, "deploy", "envoy", f), "utf8")));
  }
  fs.copyFileSync(WASM_ENVOY, path.join(dir, "envoy.wasm"));
  const check = spawnSync(envoyBinary(), ["--mode", "validate", "-c", path.join(dir, "envoy.yaml")], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const pods = await Promise.all(COMPOSE_PODS.map((ip, i) => startPodProcess(`pod-${i + 1}`, 8080, ip.replace("172.30.0.", "127.0.0."))));
  const log = fs.openSync(path.join(dir, "envoy.log"), "a");
  const envoy = spawn(envoyBinary(), ["-c", path.join(dir, "envoy.yaml"), "--concurrency", "2", "--disable-hot-restart"], {
    stdio: ["ignore", log, log],
  });
  try {
    await waitFor("deploy Envoy ready", async () => (await httpGet("127.0.0.1", 20511, "/ready")).body.trim() === "LIVE", 20000);
    await waitFor(
      "plugin membership",
      async () => (await httpGet("127.0.0.1", 20511, "/stats?filter=eligible_hosts")).body.includes(": 3"),
      15000,
    );
    const players = await Promise.all([0, 1, 2, 3].map(() => join("ws://127.0.0.1:20510/ws?appId=compose&roomId=1")));
    await closeAll(players);
    assert.equal(new Set(players.map((p) => p.pod)).size, 1);
  } finally {
    envoy.kill("SIGTERM");
    await new Promise((r) => envoy.once("exit", r));
    await Promise.all(pods.map((p) => p.kill()));
  }
});

test("the deploy files name the headers the plugin writes: stateful_session reads pinHeader, the hash policies hash on hashHeader, the cluster reads fallbackHeader", async () => {
  // What the plugin writes with its defaults (the deploy examples configure none of these fields).
  const proc = newProcess([{ address: "10.0.0.1:8080", health: "Healthy" }], "game_pods");
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({}), true);
  vm.request({ path: "/ws?appId=a1&roomId=r1" });
  const known = vm.request({ path: "/ws?appId=a1&roomId=r1" });
  const written = [...known.headers.keys()].filter((h) => h.startsWith("x-room-affinity"));
  const pinHeader = written.find((h) => Buffer.from(known.headers.get(h)!, "base64").toString() === "10.0.0.1:8080");
  const hashHeader = written.find((h) => /^[0-9a-f]{16}$/.test(known.headers.get(h)!));
  assert.ok(pinHeader && hashHeader, JSON.stringify(written));

  const files = renderAll();
  const envoyYaml = files.get("deploy/envoy/envoy.yaml")!;
  assert.match(envoyYaml, new RegExp(`HeaderBasedSessionState"\\n\\s+name: "${pinHeader}"`), "stateful_session must read pinHeader");
  assert.match(envoyYaml, /override_host_sources:\n\s+- header: "x-room-affinity-next"/, "the cluster must read fallbackHeader");
  assert.match(envoyYaml, /fallback_policy:[\s\S]*envoy\.load_balancing_policies\.maglev/, "MAGLEV places rooms without a pin");
  assert.match(files.get("deploy/envoy/rds.yaml")!, new RegExp(`header_name: "${hashHeader}"`), "the route must hash on hashHeader");
  // The fallbackHeader the deploy config sets is the one the cluster reads, and the plugin writes it with a pin.
  const ecds = files.get("deploy/envoy/ecds.yaml")!;
  const config = JSON.parse(JSON.parse(ecds.match(/value: (".*")\n/)![1]));
  assert.equal(config.fallbackHeader, "x-room-affinity-next");
  const two = newProcess(
    [
      { address: "10.0.0.1:8080", health: "Healthy" },
      { address: "10.0.0.2:8080", health: "Healthy" },
    ],
    "game_pods",
  );
  const vm2 = await WasmVm.load(WASM_ENVOY, two, false);
  assert.equal(vm2.configure(config), true);
  vm2.tick(); // membership from the admin interface: the pods a room can go to
  vm2.answerHttpCall(200, adminClustersJson(two));
  const first = vm2.request({ path: "/ws?appId=a1&roomId=r1" });
  const pod = first.upstream!;
  const pinned = vm2.request({ path: "/ws?appId=a1&roomId=r1" });
  assert.equal(pinned.headers.get(config.fallbackHeader), pod === "10.0.0.1:8080" ? "10.0.0.2:8080" : "10.0.0.1:8080");
  const higress = files.get("deploy/higress/base/envoyfilter.yaml")!;
  assert.match(higress, new RegExp(`header_name: "${hashHeader}"`), "the Higress route patch must hash on hashHeader");
  assert.match(higress, /lb_policy: "MAGLEV"/);
});
