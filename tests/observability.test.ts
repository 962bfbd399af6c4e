// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What operators see, checked against the real thing: the metric names Prometheus receives from a real
// Envoy with the plugin (scraped by a real Prometheus), the alert rules (promtool) and the dashboard's
// expressions against them, the access log's room key, decision and pod, and `npm run room` against a
// real etcd (rooms placed through real Envoy) and a real Redis (rooms placed through the Higress build).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync, ChildProcess } from "node:child_process";
import YAML from "yaml";
import { startReplicas, ReplicaSet } from "../tools/lib/replicas";
import { join, closeAll, mapLimit, Joined } from "../tools/lib/clients";
import { rooms } from "../tools/lib/players";
import { httpGet } from "../tools/lib/http";
import { waitFor } from "../tools/lib/wait";
import { ROOT, scratchDir } from "../tools/lib/paths";
import { ALERTS, grafanaDashboard, metricsIn } from "../tools/lib/observability";
import { Redis } from "../tools/lib/redis";
import { higressReplica, joinThrough, hostsOf } from "../tools/lib/higress-replicas";
import { CLUSTER, ADMIN_CLUSTER, DIRECTORY_CLUSTER } from "../tools/lib/envoy-config";

const BASE = 27000;
let set: ReplicaSet;
let players: Joined[] = [];

before(async () => {
  set = await startReplicas({ name: "observe", basePort: BASE, pluginConfig: { logDecision: true } });
  // Rooms through both replicas, so every family of metric (joins, directory lookups and their times) has data.
  players = await mapLimit(
    rooms("obs", 40).flatMap((r) => [r, r]),
    1,
    (room) => join(set.url(room)),
  );
  await new Promise((r) => setTimeout(r, 1500)); // one tick publishes the counts kept in the module
});

after(async () => {
  await closeAll(players);
  await set.close();
});

/** The plugin's series in one Envoy's Prometheus output: name -> type. */
async function exported(adminPort: number): Promise<Map<string, string>> {
  const body = (await httpGet("127.0.0.1", adminPort, "/stats/prometheus")).body;
  const types = new Map<string, string>();
  for (const m of body.matchAll(/^# TYPE (room_affinity_[a-z_]+) (\w+)$/gm)) types.set(m[1], m[2]);
  return types;
}

test("Prometheus names: every metric arrives as room_affinity_<name>, counters end in _total, and the docs name them so", async () => {
  const types = await exported(set.gateways[0].adminPort);
  assert.ok(types.size >= 30, `only ${types.size} plugin metrics in /stats/prometheus`);
  for (const [name, type] of types) {
    if (type === "counter") assert.match(name, /_total$/, `${name} is a counter without _total`);
    else assert.doesNotMatch(name, /_total$/, `${name} is a ${type} named like a counter`);
    assert.doesNotMatch(name, /_ms$/, `${name}: durations in seconds, or the unit spelled out`);
  }
  const metricsDoc = fs.readFileSync(path.join(ROOT, "docs", "metrics.md"), "utf8");
  const documented = [...metricsDoc.matchAll(/^\| `(room_affinity_[a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...types.keys()].sort(), "docs/metrics.md's Prometheus names");
  // The plugin's identifiers that are not metrics: its clusters, filter state and response-details codes.
  const decision = fs.readFileSync(path.join(ROOT, "assembly", "request", "local-replies.ts"), "utf8");
  const notMetrics = new Set([
    ADMIN_CLUSTER,
    DIRECTORY_CLUSTER,
    "room_affinity_key",
    "room_affinity_decision",
    ...[...decision.matchAll(/export const DETAILS_\w+ = "([^"]+)"/g)].map((m) => m[1]),
  ]);
  for (const doc of ["README.md", "README.zh-CN.md", "docs/operations.md", "deploy/higress/README.md", "deploy/higress/README.zh-CN.md"]) {
    // Upgrade notes name the old metrics on purpose.
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8").split(/\n## Upgrading/)[0];
    assert.doesNotMatch(text, /envoy_wasmcustom_/, `${doc} names metrics in a form Prometheus never receives`);
    for (const name of metricsIn(text).filter((n) => !notMetrics.has(n))) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(types.has(name) || types.get(base) === "histogram", `${doc} names ${name}, which Envoy does not export`);
    }
  }
});

test("a real Prometheus scraping both replicas has a series for every metric the alerts and the dashboard name, and evaluates each expression", async () => {
  const dir = scratchDir("prometheus");
  const targets = set.gateways.map((gw) => `127.0.0.1:${gw.adminPort}`);
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    YAML.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: "envoy", metrics_path: "/stats/prometheus", static_configs: [{ targets }] }],
    }),
  );
  const port = BASE + 40;
  const log = fs.openSync(path.join(dir, "prometheus.log"), "a");
  const prom: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", log, log] },
  );
  const query = async (expr: string) => {
    const r = await httpGet("127.0.0.1", port, `/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = JSON.parse(r.body);
    assert.equal(body.status, "success", `${expr}: ${r.body}`);
    return body.data.result as unknown[];
  };
  try {
    await waitFor(
      "Prometheus scraping both replicas",
      async () => (await query('up{job="envoy"} == 1').catch(() => [])).length === 2,
      30000,
      250,
    );
    await waitFor("a second scrape", async () => (await query("count_over_time(room_affinity_hits_total[1m])")).length === 2, 10000, 250);
    const exprs = [
      ...ALERTS.map((a) => a.expr),
      ...(grafanaDashboard() as any).panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)),
    ];
    const names = new Set(exprs.flatMap(metricsIn));
    assert.ok(names.size >= 25, `the rules and dashboard name only ${names.size} metrics`);
    for (const name of names) assert.equal((await query(`count(${name})`)).length, 1, `Prometheus has no series ${name}`);
    for (const expr of exprs) await query(expr);
  } finally {
    prom.kill("SIGTERM");
    await new Promise((r) => prom.once("exit", r));
  }
});

test("promtool accepts the PrometheusRule's alert rules", () => {
  const dir = scratchDir("promtool");
  const rule = YAML.parse(fs.readFileSync(path.join(ROOT, "deploy", "observability", "prometheus-rule.yaml"), "utf8"));
  assert.deepEqual(
    rule.spec.groups[0].rules.map((r: any) => r.alert),
    ALERTS.map((a) => a.alert),
  );
  fs.writeFileSync(path.join(dir, "rules.yml"), YAML.stringify({ groups: rule.spec.groups }));
  const r = spawnSync("promtool", ["check", "rules", path.join(dir, "rules.yml")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
});

test("a join's access-log line carries the room key, the plugin's decision and the pod", async () => {
  const room = "log-1";
  const first = await join(set.url(room));
  const second = await join(set.url(room));
  await closeAll([first, second]);
  const address = set.fleet.get(first.pod)!.address;
  const line = (l: string) => l.includes(`roomId=${room} `);
  await waitFor("both joins in the access logs", async () => set.gateways.flatMap((gw) => gw.accessLog()).filter(line).length === 2, 5000);
  const lines = set.gateways.flatMap((gw) => gw.accessLog()).filter(line);
  for (const l of lines)
    assert.match(l, new RegExp(` 101 \\S+ ${address.replace(/\./g, "\\.")} .* room=/ws:a1:${room} decision=(learned|found|hit)$`), l);
  // The first player's replica learned the room; the second's (the balancer alternates) found it in the directory.
  assert.deepEqual(lines.map((l) => /decision=(\w+)$/.exec(l)![1]).sort(), ["found", "learned"]);
});

function room(args: string[]): { status: number | null; out: any; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "tools", "room.js"), ...args, "--json"], {
    encoding: "utf8",
    timeout: 30000,
  });
  return { status: r.status, out: r.stdout.trim() ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

test("npm run room: the pod of a room placed through real Envoy, from the real etcd, and its state at a gateway", async () => {
  const players2 = await Promise.all([join(set.url("where-1")), join(set.url("where-1"))]);
  await closeAll(players2);
  const address = set.fleet.get(players2[0].pod)!.address;
  const gw = set.gateways[1];
  const r = room(["--app", "a1", "--room", "where-1", "--etcd", set.etcd!.url, "--admin", `127.0.0.1:${gw.adminPort}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([r.out.key, r.out.directoryPod, r.out.gatewayState, r.out.cluster], ["/ws:a1:where-1", address, "healthy", CLUSTER]);
  assert.match(r.out.directoryKey, /^room-affinity\/[0-9a-f]{16}$/);
  // The hash is the one the gateway hashed the room's players by: the plugin wrote it on their requests.
  const unknown = room(["--app", "a1", "--room", "never-joined", "--etcd", set.etcd!.url]);
  assert.deepEqual([unknown.status, unknown.out.directoryPod], [0, ""]);
  const noKey = room(["--app", "a1"]);
  assert.deepEqual([noKey.status, noKey.out.decision], [1, "passed"]);
});

test("npm run room: the pod of a room placed through the Higress build, from the real Redis", async () => {
  const redis = new Redis(scratchDir("room-redis"), BASE + 45, "s3cret");
  await redis.start();
  try {
    const config = {
      keyParams: ["appId", "roomId"],
      directory: { type: "redis", serviceName: "redis.static", servicePort: 6379, password: "s3cret", keyPrefix: "games/" },
    };
    const vm = await higressReplica(config, hostsOf(3), redis.port);
    const pod = await joinThrough(vm, "/ws?appId=h5&roomId=r9");
    const file = path.join(scratchDir("room-config"), "plugin.json");
    fs.writeFileSync(file, JSON.stringify(config));
    const r = room([
      "--app",
      "h5",
      "--room",
      "r9",
      "--config",
      file,
      "--cluster",
      vm.proc.cluster,
      "--redis",
      `127.0.0.1:${redis.port}`,
      "--redis-password",
      "s3cret",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.out.directoryPod, pod);
    assert.match(r.out.directoryKey, /^games\/[0-9a-f]{16}$/);
    const wrong = room([
      "--app",
      "h5",
      "--room",
      "r9",
      "--config",
      file,
      "--cluster",
      vm.proc.cluster,
      "--redis",
      `127.0.0.1:${redis.port}`,
      "--redis-password",
      "wrong",
    ]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /room: redis AUTH: .*WRONGPASS|invalid password/);
  } finally {
    await redis.stop();
  }
});
