// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The docs tell the truth about the code: every config field the parser accepts is documented (in
// English and Chinese) and in the JSON Schema, and every documented field is accepted; every JSON
// example in the docs configures the plugin and passes the schema; the schema and the parser give
// the same verdict on good and bad configs; every metric the plugin defines is documented.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { ROOT, WASM_ENVOY, WASM_HIGRESS } from "../tools/lib/paths";
import YAML from "yaml";
import { WasmVm, newProcess } from "../tools/lib/host-emulator";
import { ControlServer } from "../tools/lib/control";
import { pluginConfigVerdict } from "../tools/lib/config-verdict";

const DOCS = [
  "README.md",
  "README.zh-CN.md",
  "deploy/higress/README.md",
  "deploy/higress/README.zh-CN.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "deploy", "room-affinity.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Runs a config through the real stock build (or the Higress build); returns "" if accepted, else the logged error. */
const verdict = pluginConfigVerdict;

/** The parser's own field lists, read from its error messages. */
async function parserFields(): Promise<{ top: string[]; rule: string[] }> {
  const top = (await verdict({ __probe__: 1 })).match(/known fields: (.*)$/)![1].split(", ");
  const rule = (await verdict({ _rules_: [{ _match_route_: ["x"], __probe__: 1 }] }))
    .match(/a rule may set (.*) and one of/)![1]
    .split(", ");
  return { top, rule };
}

/** `name` cells of every table from the heading matching `heading` up to `until` (or the next section). */
function tableFields(doc: string, heading: RegExp, until: RegExp = /\n## /): string[] {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  const start = text.search(heading);
  assert.ok(start >= 0, `${doc}: no section ${heading}`);
  const rest = text.slice(start + 1);
  const end = rest.search(until);
  return (end >= 0 ? rest.slice(0, end) : rest)
    .split("\n")
    .map((l) => /^\| `([A-Za-z_]+)` \|/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

/** The first table after `heading` alone. */
function firstTableFields(doc: string, heading: RegExp): string[] {
  return tableFields(doc, heading, /\n\n(?!\|)/);
}

function jsonExamples(doc: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
}

test("every field the parser accepts is documented (EN, ZH) and in the schema, and nothing else", async () => {
  const { top, rule } = await parserFields();
  const sorted = (xs: string[]) => [...xs].sort();
  assert.deepEqual(
    sorted(tableFields("README.md", /\n## Configuration\n/, /\n`directory` fields:\n/)),
    sorted(top),
    "README.md config tables",
  );
  assert.deepEqual(
    sorted(tableFields("README.zh-CN.md", /\n## 配置字段\n/, /\n`directory` 字段：\n/)),
    sorted(top),
    "README.zh-CN.md config tables",
  );
  assert.deepEqual(sorted(Object.keys(schema.properties)), sorted(top), "schema properties");
  const ruleSchema = Object.keys(schema.definitions.rule.properties).filter((k) => !k.startsWith("_match_"));
  assert.deepEqual(sorted(ruleSchema), sorted(rule), "schema rule properties");
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    for (const k of ["_match_route_", "_match_route_prefix_", "_match_domain_", "_match_service_"])
      assert.ok(text.includes(k), `${doc} does not mention ${k}`);
  }
});

test("every JSON example in the docs configures the plugin and passes the schema", async () => {
  let n = 0;
  for (const doc of DOCS) {
    for (const ex of jsonExamples(doc)) {
      n++;
      // A Redis directory needs the Higress build.
      assert.equal(await verdict(ex, /"type": "redis"/.test(ex)), "", `${doc} example rejected by the plugin:\n${ex}`);
      assert.ok(validate(JSON.parse(ex)), `${doc} example rejected by the schema: ${JSON.stringify(validate.errors)}\n${ex}`);
    }
  }
  assert.ok(n >= 6, `expected the docs to carry examples, found ${n}`);
});

test("the schema and the parser agree on good and bad configs", async () => {
  const cases: unknown[] = [
    {},
    { keyParams: ["a"] },
    { keyParams: [] },
    { keyParams: ["a", "a"] },
    { keyParams: ["a", ""] },
    { keyParams: "a" },
    { keyParams: ["1", "2", "3", "4", "5", "6", "7", "8", "9"] },
    { keyIncludesPath: false },
    { keyIncludesPath: 1 },
    { onMissingKey: "reject" },
    { onMissingKey: "drop" },
    { maxKeyLength: 8 },
    { maxKeyLength: 7 },
    { maxKeyLength: 4097 },
    { maxKeyLength: 1.5 },
    { pinHeader: "x-pin" },
    { pinHeader: "X-Pin" },
    { pinHeader: "x pin" },
    { pinHeader: "" },
    { entryTtlSeconds: 10 },
    { entryTtlSeconds: 9 },
    { capacity: 1 },
    { capacity: 0 },
    { capacity: 16777217 },
    { bucketSize: 64 },
    { bucketSize: 65 },
    { tickPeriodMs: 100 },
    { tickPeriodMs: 99 },
    { sweepBucketsPerTick: 1 },
    { sweepBucketsPerTick: 0 },
    { adminCluster: "" },
    { adminCluster: "outbound|80||a.b" },
    { adminCluster: "a b" },
    { websocketOnly: false },
    { websocketOnly: "no" },
    { logDecision: true },
    { logDecision: "yes" },
    { sharedDataPrefix: "p" },
    { sharedDataPrefix: "" },
    { sharedDataPrefix: "a:b" },
    { unknown: 1 },
    { _rules_: [] },
    { _rules_: {} },
    { _rules_: [{ _match_route_: ["a"] }] },
    { _rules_: [{ _match_route_: [] }] },
    { _rules_: [{}] },
    { _rules_: [{ _match_route_: ["a"], _match_domain_: ["b"] }] },
    { _rules_: [{ _match_domain_: ["*.a"], keyParams: ["x"] }] },
    { _rules_: [{ _match_service_: ["s.ns.svc.cluster.local:80"], capacity: 5 }] },
    { _rules_: [{ _match_route_prefix_: ["g/"], websocketOnly: false }] },
    { _rules_: [{ _match_route_: ["a"], extra: 1 }] },
    { _rules_: [1] },
    [],
    "x",
  ];
  for (const c of cases) {
    const parser = (await verdict(c)) === "";
    const schemaOk = validate(c) as boolean;
    assert.equal(schemaOk, parser, `schema says ${schemaOk}, parser says ${parser} for ${JSON.stringify(c)}`);
  }
});

test("the schema and the Higress build's parser agree on directory configs of both store types", async () => {
  const cases: unknown[] = [
    { directory: {} },
    { directory: { type: "etcd" } },
    { directory: { type: "etcd", cluster: "c", timeoutMs: 300, token: "t" } },
    { directory: { type: "redis" } },
    { directory: { type: "redis", serviceName: "redis.infra.svc.cluster.local" } },
    { directory: { type: "redis", serviceName: "redis.static", servicePort: 6380, password: "p", timeout: 100, database: 3 } },
    { directory: { type: "redis", serviceName: "r.dns", cluster: "c" } },
    { directory: { type: "redis", serviceName: "r.dns", timeoutMs: 100 } },
    { directory: { serviceName: "r.dns" } },
    { directory: { type: "etcd", password: "p" } },
    { directory: { type: "redis", serviceName: "" } },
    { directory: { type: "consul" } },
    { directory: { type: "redis", serviceName: "r.dns", database: 16 } },
  ];
  for (const c of cases) {
    const parser = (await verdict(c, true)) === "";
    const schemaOk = validate(c) as boolean;
    assert.equal(schemaOk, parser, `schema says ${schemaOk}, the Higress build says ${parser} for ${JSON.stringify(c)}`);
  }
});

test("every metric the plugin defines is in docs/metrics.md, the READMEs name only those, and every response-details code is documented", async () => {
  const proc = newProcess([]);
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({}), true);
  const metrics = proc.metrics.names.map((n) => n.replace(/^room_affinity\./, ""));
  assert.ok(metrics.length >= 20);
  const prometheus = (m: string) => `room_affinity_${m.replace(/\./g, "_")}`;
  const table = fs.readFileSync(path.join(ROOT, "docs", "metrics.md"), "utf8");
  const rows = [...table.matchAll(/^\| `(room_affinity_[a-z_]+)` \| `([a-z_.]+)` \| (counter|gauge|histogram) \|/gm)];
  assert.deepEqual(rows.map((r) => r[2]).sort(), [...metrics].sort(), "docs/metrics.md's /stats names");
  for (const r of rows) assert.equal(r[1], prometheus(r[2]), `docs/metrics.md: ${r[2]} arrives in Prometheus as ${prometheus(r[2])}`);
  // The codes the plugin answers with, read from the code that sends them.
  const decision = fs.readFileSync(path.join(ROOT, "assembly", "request", "local-replies.ts"), "utf8");
  const codes = [...decision.matchAll(/export const DETAILS_\w+ = "([^"]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length >= 3, JSON.stringify(codes));
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    for (const code of codes) assert.match(text, new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`), `${doc} lacks a row for ${code}`);
    const named = [...text.matchAll(/^\| `(room_affinity_[a-z_]+)` \| (counter|gauge|histogram|计数器|仪表|直方图) \|/gm)].map((m) => m[1]);
    assert.ok(named.length >= 8, `${doc} names ${named.length} metrics`);
    assert.deepEqual(
      named.filter((m) => !metrics.map(prometheus).includes(m)),
      [],
      `${doc} names metrics the plugin does not define`,
    );
  }
});

test("the directory's fields are documented (EN, ZH) for each store type, as the parser knows them", async () => {
  const fieldsOf = async (type: string) =>
    (await verdict({ directory: { type, __probe__: 1 } }, true)).match(/known fields: (.*)$/)![1].split(", ");
  const known = [...new Set([...(await fieldsOf("etcd")), ...(await fieldsOf("redis"))])].sort();
  assert.deepEqual([...firstTableFields("README.md", /\n`directory` fields:\n/)].sort(), known, "README.md directory table");
  assert.deepEqual([...firstTableFields("README.zh-CN.md", /\n`directory` 字段：\n/)].sort(), known, "README.zh-CN.md directory table");
  assert.deepEqual(Object.keys(schema.properties.directory.properties).sort(), known, "schema directory properties");
});

test("the docs name exactly the host functions the Higress build imports beyond ABI 0.2.1", async () => {
  const importsOf = async (file: string) => WebAssembly.Module.imports(await WebAssembly.compile(fs.readFileSync(file))).map((i) => i.name);
  const stock = new Set(await importsOf(WASM_ENVOY));
  const higressOnly = (await importsOf(WASM_HIGRESS)).filter((n) => !stock.has(n)).sort();
  assert.ok(higressOnly.length >= 2, JSON.stringify(higressOnly));
  for (const doc of ["README.md", "README.zh-CN.md", "deploy/higress/README.md", "deploy/higress/README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    const named = [
      ...new Set(
        [
          ...text.matchAll(/`(proxy_(?:set_upstream_override_host|get_upstream_hosts|redis_\w+|call_foreign_function|\w*override\w*))`/g),
        ].map((m) => m[1]),
      ),
    ]
      .filter((n) => n !== "proxy_redis_call_response")
      .sort();
    assert.deepEqual(named, higressOnly, `${doc} names ${named}, the build imports ${higressOnly}`);
  }
});

test("the README's WasmPlugin example, merged as Higress merges it, is its JSON example and configures the Higress build", async () => {
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(text);
    assert.ok(yamlBlock, `${doc} has no WasmPlugin example`);
    const spec = YAML.parse(yamlBlock![1]).spec;
    const matcher = (r: any) =>
      r.ingress ? { _match_route_: r.ingress } : r.domain ? { _match_domain_: r.domain } : { _match_service_: r.service };
    const merged = { ...spec.defaultConfig, _rules_: spec.matchRules.map((r: any) => ({ ...matcher(r), ...r.config })) };
    assert.deepEqual(merged, JSON.parse(jsonExamples(doc)[0]), `${doc}: the JSON example is not the merged WasmPlugin`);
    assert.equal(await verdict(merged, true), "", `${doc}: the Higress build refuses the WasmPlugin example`);
  }
});

test("every control API route is in docs/trial.md", () => {
  const trial = fs.readFileSync(path.join(ROOT, "docs", "trial.md"), "utf8");
  for (const route of ControlServer.ROUTES) {
    const [method, pathname] = route.trim().split(/\s+/);
    const documented = pathname.replace("/pods/:id", "/pods/pod-2").replace("/gateways/:id", "/gateways/gw1");
    assert.match(
      trial,
      new RegExp(`\\| \`${method} ${documented.replace(/[/]/g, "\\/")}[\` ]`),
      `docs/trial.md lacks ${method} ${pathname}`,
    );
  }
});

test("both READMEs are short user docs with the same sections", () => {
  const headings = (doc: string) =>
    fs
      .readFileSync(path.join(ROOT, doc), "utf8")
      .split("\n")
      .filter((l) => /^#{1,3} /.test(l));
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const lines = fs.readFileSync(path.join(ROOT, doc), "utf8").split("\n").length;
    assert.ok(lines <= 260, `${doc} has ${lines} lines: internals belong in docs/`);
  }
  assert.equal(headings("README.zh-CN.md").length, headings("README.md").length, "README.zh-CN.md and README.md differ in sections");
});

test("every source file carries the licence header, and every assembly/ folder says what it owns", () => {
  const { execFileSync } = require("node:child_process");
  const tracked: string[] = execFileSync("git", ["ls-files", "*.ts", "*.mjs", "*.cjs", "*.sh"], { cwd: ROOT, encoding: "utf8" }).split(
    "\n",
  );
  const sources = tracked.filter((f) => f && !f.endsWith(".d.ts") && fs.existsSync(path.join(ROOT, f)));
  assert.ok(sources.length > 100, `${sources.length} source files`);
  const missing = sources.filter(
    (f) => !fs.readFileSync(path.join(ROOT, f), "utf8").split("\n").slice(0, 2).join("\n").includes("SPDX-License-Identifier: Apache-2.0"),
  );
  assert.deepEqual(missing, [], "files without the licence header in their first two lines");
  for (const d of fs.readdirSync(path.join(ROOT, "assembly"), { withFileTypes: true })) {
    if (!d.isDirectory() || d.name === "__tests__") continue;
    const readme = path.join(ROOT, "assembly", d.name, "README.md");
    assert.ok(fs.existsSync(readme), `assembly/${d.name} has no README.md`);
    for (const m of fs.readFileSync(readme, "utf8").matchAll(/`([a-z-]+\.ts)`/g)) {
      assert.ok(fs.existsSync(path.join(ROOT, "assembly", d.name, m[1])), `assembly/${d.name}/README.md names ${m[1]}, which is not there`);
    }
  }
});

test("every source file the docs name exists", () => {
  const docs = [
    "README.md",
    "README.zh-CN.md",
    ...fs
      .readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  for (const doc of docs) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    for (const m of text.matchAll(/`((?:assembly|tools|bench|tests|console|scripts)\/[A-Za-z0-9_./-]+\.(?:ts|mjs|cjs|sh))`/g)) {
      assert.ok(fs.existsSync(path.join(ROOT, m[1])), `${doc} names ${m[1]}, which is not there`);
    }
  }
});
