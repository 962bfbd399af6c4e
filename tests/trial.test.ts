// The README's trial command works: `node dist/tools/trial.js --check` starts pods and Envoy,
// self-checks that rooms do not split, and exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT } from "../tools/lib/paths";

test("trial starts, routes each room to one pod, and stops cleanly", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "tools", "trial.js"), "--check",
    "--listen-port", "20300", "--admin-port", "20301", "--control-port", "20302", "--pod-base-port", "20311"], { encoding: "utf8", timeout: 90000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /room demo:1 -> pod-\d \(3 players\)/);
  assert.match(out, /ws:\/\/127\.0\.0\.1:20300\/ws\?appId=demo&roomId=1/);
});

test("trial rejects unknown options with a usage line", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "tools", "trial.js"), "--bogus"], { encoding: "utf8", timeout: 20000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown option --bogus \(options: /);
});
