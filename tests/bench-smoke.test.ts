// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Benchmarks are not tests and never fail on timing, but a broken benchmark (crash, no output) is a
// bug: run tiny versions of `npm run bench` and `npm run compare` and check they finish with output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "../tools/lib/paths";
import { compiledAtRunTime } from "../tools/lib/callgrind";

function run(script: string, args: string[], timeoutMs: number) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "bench", script), ...args], { encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test("bench --smoke runs every measurement and prints its figures", () => {
  const r = run("bench.js", ["--smoke"], 420000); // Envoy under valgrind starts in about a minute
  assert.equal(r.status, 0, r.out);
  for (const re of [
    /us\/join at 1000 rooms/,
    /sweep pass/,
    /evicted in \d+ ticks/,
    /plugin throughput x[\d.]+ \([\d.]+\.\.[\d.]+\) of MAGLEV/,
    /B\/room/,
    /round 1 floor /,
    /plugin over the floor -?[\d.]+/,
    /directory: join of a room this replica does not know p50 [\d.]+ ms/,
    /directory: steady load \d+ joins/,
    /instructions: floor +\d+ \(\d+\.\.\d+\) per request \(callgrind, 2 windows of 200\)/,
    /instructions: floor +\d+ \(\d+\.\.\d+\) per handshake \(callgrind, 1 windows of 50\)/,
    /A\/A control \(the floor against itself\): Envoy CPU -?[\d.]+/,
    /peers: plugin throughput x[\d.]+ \([\d.]+\.\.[\d.]+\) of nginx\+Lua, x[\d.]+ \([\d.]+\.\.[\d.]+\) of HAProxy/,
    /peers: haproxy +\d+ \(\d+\.\.\d+\) handshakes\/s, p99 [\d.]+ .* server CPU [\d.]+/,
    /frames: 64 B plugin +\d+ \(\d+\.\.\d+\) frames\/s, Envoy CPU [\d.]+/,
    /frames: 1024 B plugin over MAGLEV -?[\d.]+ \(-?[\d.]+\.\.-?[\d.]+\) us\/frame \(A\/A control: MAGLEV again -?[\d.]+/,
    /instructions: join-probe +\d+ \(\d+\.\.\d+\) per handshake/,
    // The module's own share: the plugin runs wasm code the floor does not.
    /instructions: plugin +\d+ \(\d+\.\.\d+\) per handshake .*; in code compiled at run time [1-9]\d* /,
    /the join probe over the floor -?\d+ .*; plugin x[\d.]+ of it/,
  ])
    assert.match(r.out, re);
});

test("compare --smoke runs every system through membership changes, draining and reloads", () => {
  const r = run("compare.js", ["--smoke"], 600000);
  assert.equal(r.status, 0, r.out);
  for (const sys of ["plugin", "maglev", "nginx", "haproxy", "nginx-lua"]) {
    for (const sc of ["scale-out", "rolling-update", "config-reload"])
      assert.match(r.out, new RegExp(`\\| ${sys} \\| ${sc} \\| \\d+ \\|`), `${sys} ${sc}`);
  }
  // The plugin's own guarantees hold even in the smoke run: the settled scenarios (0 split, moved,
  // dropped), the no-settle one (0 split in every run), and two replicas with the directory (0 split).
  const lines = r.out.split("\n");
  const settled = lines.filter((l) => /^\| plugin \| [a-z-]+ \| \d+ \| \d+ \| \d+ \| \d+\/\d+/.test(l));
  assert.ok(settled.length >= 3, r.out);
  for (const line of settled) assert.match(line, /\| plugin \| [a-z-]+ \| 0 \| 0 \| 0 \|/, line);
  const live = lines.filter((l) => l.startsWith("| plugin | pod-killed | 1 |"));
  assert.equal(live.length, 1, r.out);
  assert.match(live[0], /\| plugin \| pod-killed \| 1 \| 0; 0 \| 0 \| 0 \|/);
  // The longest a join waited for its answer, then the rooms not together and new rooms on draining pods.
  assert.match(live[0], /\| \d+ ms \| \d+ \| [-\d]+ \|$/, live[0]);
  const replicated = lines.filter((l) => l.startsWith("| plugin+directory |"));
  assert.equal(replicated.length, 1, r.out);
  assert.match(replicated[0], /\| plugin\+directory \| 0 \| 0 \| 0 \|/);
});

/** callgrind_annotate's self costs as it prints them: Envoy's code, a library, V8's built-ins in the binary, and run-time code. */
const ANNOTATED = `
--------------------------------------------------------------------------------
Ir                    file:function
--------------------------------------------------------------------------------
 17,779,722 (10.65%)  ???:0x000000000628d840 [???]
  9,781,000 ( 5.86%)  ???:0x000017ee2be3a048 [???]
  4,258,946 ( 2.55%)  ./string/../sysdeps/x86_64/multiarch/memset-vec-unaligned-erms.S:__memset_avx2_unaligned_erms [/usr/lib/x86_64-linux-gnu/libc.so.6]
  2,039,000 ( 1.22%)  ???:0x000000000556a180 [/work/main/.venv/lib/python3.11/site-packages/envoy/_bin/envoy]
    599,000 ( 0.36%)  ???:0x00000b13db009940 [???]
`;

test("the module's share of a callgrind window is the code in no mapped file above 4 GiB", () => {
  assert.equal(compiledAtRunTime(ANNOTATED), 9_781_000 + 599_000);
  assert.equal(compiledAtRunTime(""), 0);
});
