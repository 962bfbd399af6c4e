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
import { WasmVm, newProcess } from "../tools/lib/host-emulator";

const DOCS = ["README.md", "README.zh-CN.md", "deploy/higress/README.md", "deploy/higress/README.zh-CN.md"];
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "deploy", "room-affinity.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Runs a config through the real stock build (or the Higress build); returns "" if accepted, else the logged error. */
async function verdict(config: unknown, higress = false): Promise<string> {
  const vm = await WasmVm.load(higress ? WASM_HIGRESS : WASM_ENVOY, newProcess([]), higress);
  const ok = vm.configure(typeof config === "string" ? config : JSON.stringify(config));
  return ok ? "" : (vm.logs.find((l) => l.level === 4)?.message ?? "rejected without a message");
}

/** The parser's own field lists, read from its error messages. */
async function parserFields(): Promise<{ top: string[]; rule: string[] }> {
  const top = (await verdict({ __probe__: 1 })).match(/known fields: (.*)$/)![1].split(", ");
  const rule = (await verdict({ _rules_: [{ _match_route_: ["x"], __probe__: 1 }] })).match(/a rule may set (.*) and one of/)![1].split(", ");
  return { top, rule };
}

/** `name` cells of the first table (the config table) after the heading matching `heading`. */
function tableFields(doc: string, heading: RegExp): string[] {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  const start = text.search(heading);
  assert.ok(start >= 0, `${doc}: no section ${heading}`);
  const lines = text.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const table: string[] = [];
  for (let i = first; i < lines.length && lines[i].startsWith("|"); i++) table.push(lines[i]);
  return table.map((l) => /^\| `([A-Za-z_]+)` \|/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
}

function jsonExamples(doc: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
}

test("every field the parser accepts is documented (EN, ZH) and in the schema, and nothing else", async () => {
  const { top, rule } = await parserFields();
  const sorted = (xs: string[]) => [...xs].sort();
  assert.deepEqual(sorted(tableFields("README.md", /\n## Configuration\n/)), sorted(top), "README.md config table");
  assert.deepEqual(sorted(tableFields("README.zh-CN.md", /\n## 配置\n/)), sorted(top), "README.zh-CN.md config table");
  assert.deepEqual(sorted(Object.keys(schema.properties)), sorted(top), "schema properties");
  const ruleSchema = Object.keys(schema.definitions.rule.properties).filter((k) => !k.startsWith("_match_"));
  assert.deepEqual(sorted(ruleSchema), sorted(rule), "schema rule properties");
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    for (const k of ["_match_route_", "_match_route_prefix_", "_match_domain_", "_match_service_"]) assert.ok(text.includes(k), `${doc} does not mention ${k}`);
  }
});

test("every JSON example in the docs configures the plugin and passes the schema", async () => {
  let n = 0;
  for (const doc of DOCS) {
    for (const ex of jsonExamples(doc)) {
      n++;
      // The Higress guide's examples are Higress configurations (its Redis directory needs that build).
      assert.equal(await verdict(ex, doc.startsWith("deploy/higress/")), "", `${doc} example rejected by the plugin:\n${ex}`);
      assert.ok(validate(JSON.parse(ex)), `${doc} example rejected by the schema: ${JSON.stringify(validate.errors)}\n${ex}`);
    }
  }
  assert.ok(n >= 8, `expected the docs to carry examples, found ${n}`);
});

test("the schema and the parser agree on good and bad configs", async () => {
  const cases: unknown[] = [
    {}, { keyParams: ["a"] }, { keyParams: [] }, { keyParams: ["a", "a"] }, { keyParams: ["a", ""] }, { keyParams: "a" },
    { keyParams: ["1", "2", "3", "4", "5", "6", "7", "8", "9"] }, { keyIncludesPath: false }, { keyIncludesPath: 1 },
    { onMissingKey: "reject" }, { onMissingKey: "drop" }, { maxKeyLength: 8 }, { maxKeyLength: 7 }, { maxKeyLength: 4097 }, { maxKeyLength: 1.5 },
    { pinHeader: "x-pin" }, { pinHeader: "X-Pin" }, { pinHeader: "x pin" }, { pinHeader: "" }, { entryTtlSeconds: 10 }, { entryTtlSeconds: 9 },
    { capacity: 1 }, { capacity: 0 }, { capacity: 16777217 }, { bucketSize: 64 }, { bucketSize: 65 }, { tickPeriodMs: 100 }, { tickPeriodMs: 99 },
    { sweepBucketsPerTick: 1 }, { sweepBucketsPerTick: 0 }, { adminCluster: "" }, { adminCluster: "outbound|80||a.b" }, { adminCluster: "a b" },
    { websocketOnly: false }, { websocketOnly: "no" }, { sharedDataPrefix: "p" }, { sharedDataPrefix: "" }, { sharedDataPrefix: "a:b" }, { unknown: 1 },
    { _rules_: [] }, { _rules_: {} }, { _rules_: [{ _match_route_: ["a"] }] }, { _rules_: [{ _match_route_: [] }] }, { _rules_: [{}] },
    { _rules_: [{ _match_route_: ["a"], _match_domain_: ["b"] }] }, { _rules_: [{ _match_domain_: ["*.a"], keyParams: ["x"] }] },
    { _rules_: [{ _match_service_: ["s.ns.svc.cluster.local:80"], capacity: 5 }] }, { _rules_: [{ _match_route_prefix_: ["g/"], websocketOnly: false }] },
    { _rules_: [{ _match_route_: ["a"], extra: 1 }] }, { _rules_: [1] }, [], "x",
  ];
  for (const c of cases) {
    const parser = (await verdict(c)) === "";
    const schemaOk = validate(c) as boolean;
    assert.equal(schemaOk, parser, `schema says ${schemaOk}, parser says ${parser} for ${JSON.stringify(c)}`);
  }
});

test("the schema and the Higress build's parser agree on directory configs of both store types", async () => {
  const cases: unknown[] = [
    { directory: {} }, { directory: { type: "etcd" } }, { directory: { type: "etcd", cluster: "c", timeoutMs: 300, token: "t" } },
    { directory: { type: "redis" } }, { directory: { type: "redis", serviceName: "redis.infra.svc.cluster.local" } },
    { directory: { type: "redis", serviceName: "redis.static", servicePort: 6380, password: "p", timeout: 100, database: 3 } },
    { directory: { type: "redis", serviceName: "r.dns", cluster: "c" } }, { directory: { type: "redis", serviceName: "r.dns", timeoutMs: 100 } },
    { directory: { serviceName: "r.dns" } }, { directory: { type: "etcd", password: "p" } }, { directory: { type: "redis", serviceName: "" } },
    { directory: { type: "consul" } }, { directory: { type: "redis", serviceName: "r.dns", database: 16 } },
  ];
  for (const c of cases) {
    const parser = (await verdict(c, true)) === "";
    const schemaOk = validate(c) as boolean;
    assert.equal(schemaOk, parser, `schema says ${schemaOk}, the Higress build says ${parser} for ${JSON.stringify(c)}`);
  }
});

test("every metric the plugin defines and every response-details code are documented, and no other metric", async () => {
  const proc = newProcess([]);
  const vm = await WasmVm.load(WASM_ENVOY, proc, false);
  assert.equal(vm.configure({}), true);
  const metrics = proc.metrics.names.map((n) => n.replace(/^room_affinity\./, ""));
  assert.ok(metrics.length >= 20);
  // The codes the plugin answers with, read from the code that sends them.
  const decision = fs.readFileSync(path.join(ROOT, "assembly", "decision.ts"), "utf8");
  const codes = [...decision.matchAll(/export const DETAILS_\w+ = "([^"]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length >= 3, JSON.stringify(codes));
  for (const doc of ["README.md", "README.zh-CN.md"]) {
    const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
    for (const m of metrics) assert.match(text, new RegExp(`\\| \`${m.replace(/\./g, "\\.")}\` \\|`), `${doc} lacks metric ${m}`);
    for (const code of codes) assert.match(text, new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`), `${doc} lacks a row for ${code}`);
    const documented = [...text.matchAll(/^\| `([a-z_.]+)` \| (counter|gauge|计数器|仪表) \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented.filter((m) => !metrics.includes(m)), [], `${doc} documents metrics the plugin does not define`);
  }
});

test("the directory's fields are documented (EN, ZH) for each store type, as the parser knows them", async () => {
  const fieldsOf = async (type: string) => (await verdict({ directory: { type, __probe__: 1 } }, true)).match(/known fields: (.*)$/)![1].split(", ");
  const known = [...new Set([...(await fieldsOf("etcd")), ...(await fieldsOf("redis"))])].sort();
  assert.deepEqual([...tableFields("README.md", /\n`directory` fields:\n/)].sort(), known, "README.md directory table");
  assert.deepEqual([...tableFields("README.zh-CN.md", /\n`directory` 字段：\n/)].sort(), known, "README.zh-CN.md directory table");
  assert.deepEqual(Object.keys(schema.properties.directory.properties).sort(), known, "schema directory properties");
});
