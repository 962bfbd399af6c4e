// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Both builds' host interface: the stock-Envoy build must not import Higress-only functions (Envoy
// would refuse to load it), and both must export the ABI 0.2.1 hooks the plugin relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readInterface } from "../tools/lib/wasm-sections";
import { WASM_ENVOY, WASM_HIGRESS, WASM_FLOOR } from "../tools/lib/paths";

const HIGRESS_ONLY = [
  "env.proxy_set_upstream_override_host",
  "env.proxy_get_upstream_hosts",
  "env.proxy_redis_init",
  "env.proxy_redis_call",
];
const HIGRESS_EXPORTS = ["proxy_on_redis_call_response"];
// The ABI 0.2.1 host functions stock Envoy provides that this plugin may use.
const ABI_0_2_1 = new Set(
  [
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_buffer_bytes",
    "proxy_get_header_map_value",
    "proxy_get_header_map_pairs",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_current_time_nanoseconds",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_set_effective_context",
    "proxy_continue_stream",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
  ].map((n) => `env.${n}`),
);
const REQUIRED_EXPORTS = [
  "memory",
  "_initialize",
  "proxy_abi_version_0_2_1",
  "proxy_on_memory_allocate",
  "proxy_on_context_create",
  "proxy_on_vm_start",
  "proxy_on_configure",
  "proxy_on_tick",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_http_call_response",
  "proxy_on_delete",
];
// Hooks Envoy would call on every stream for nothing: the plugin does no work in them, so it leaves them
// out and Envoy skips the call (a VM entry each).
// Every hook Envoy may call for a stream.
const STREAM_HOOKS = [
  "proxy_on_context_create",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_delete",
  "proxy_on_done",
  "proxy_on_log",
  "proxy_on_request_body",
  "proxy_on_response_body",
  "proxy_on_request_trailers",
  "proxy_on_response_trailers",
];
const IDLE_STREAM_HOOKS = [
  "proxy_on_done",
  "proxy_on_log",
  "proxy_on_request_body",
  "proxy_on_response_body",
  "proxy_on_request_trailers",
  "proxy_on_response_trailers",
];

test("stock Envoy build imports only ABI 0.2.1 functions", () => {
  const w = readInterface(WASM_ENVOY);
  console.log(`envoy.wasm imports: ${w.imports.join(", ")}`);
  for (const imp of w.imports) assert.ok(ABI_0_2_1.has(imp), `envoy.wasm imports ${imp}, which stock Envoy does not provide`);
  for (const h of HIGRESS_ONLY) assert.ok(!w.imports.includes(h), `envoy.wasm must not import ${h}`);
  for (const e of HIGRESS_EXPORTS) assert.ok(!w.exports.includes(e), `envoy.wasm must not export ${e}`);
  assert.ok(!w.imports.includes("env.abort"), "AssemblyScript's env.abort must be replaced (asconfig use abort=)");
});

test("Higress build adds exactly the Higress upstream and Redis functions, and the Redis callback", () => {
  const w = readInterface(WASM_HIGRESS);
  console.log(`higress.wasm imports: ${w.imports.join(", ")}`);
  for (const h of HIGRESS_ONLY) assert.ok(w.imports.includes(h), `higress.wasm must import ${h}`);
  for (const imp of w.imports) assert.ok(ABI_0_2_1.has(imp) || HIGRESS_ONLY.includes(imp), `unexpected import ${imp}`);
  for (const e of HIGRESS_EXPORTS) assert.ok(w.exports.includes(e), `higress.wasm must export ${e}`);
  // HTTP calls on Higress serve only the room directory (etcd over HTTP); membership comes from the host.
});

test("both builds export the ABI 0.2.1 hooks", () => {
  for (const file of [WASM_ENVOY, WASM_HIGRESS]) {
    const w = readInterface(file);
    for (const e of REQUIRED_EXPORTS) assert.ok(w.exports.includes(e), `${file} lacks export ${e}`);
    assert.ok(!w.exports.some((e) => e.startsWith("proxy_abi_version_0_2_0")), "must not claim ABI 0.2.0");
  }
});

test("no build exports a stream hook it does no work in (Envoy would enter the VM for it on every stream)", () => {
  for (const file of [WASM_ENVOY, WASM_HIGRESS, WASM_FLOOR]) {
    const w = readInterface(file);
    for (const e of IDLE_STREAM_HOOKS) assert.ok(!w.exports.includes(e), `${file} exports ${e}`);
  }
});

test("the benchmark floor has the plugin's stream hooks, so plugin minus floor is the work done in them", () => {
  const streamHooks = (file: string) =>
    readInterface(file)
      .exports.filter((e) => STREAM_HOOKS.includes(e))
      .sort();
  assert.deepEqual(streamHooks(WASM_FLOOR), streamHooks(WASM_ENVOY));
  assert.deepEqual(streamHooks(WASM_FLOOR), streamHooks(WASM_HIGRESS));
});
