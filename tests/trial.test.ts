// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The README's trial command works: `node dist/tools/trial.js --check` starts pods and Envoy,
// self-checks that rooms do not split, and exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import { ControlClient } from "../tools/lib/control";
import { join, closeAll } from "../tools/lib/clients";
import path from "node:path";
import fs from "node:fs";
import { ROOT, scratchDir } from "../tools/lib/paths";

test("trial starts, routes each room to one pod, and stops cleanly", () => {
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, "dist", "tools", "trial.js"),
      "--check",
      "--listen-port",
      "20300",
      "--admin-port",
      "20301",
      "--control-port",
      "20302",
      "--pod-base-port",
      "20311",
    ],
    { encoding: "utf8", timeout: 90000 },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /room demo:1 -> pod-\d \(3 players\)/);
  assert.match(out, /ws:\/\/127\.0\.0\.1:20300\/ws\?appId=demo&roomId=1/);
});

test("trial rejects an unknown flag naming it, before any set-up", () => {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "trial.sh"), "--bogus"], { encoding: "utf8", timeout: 20000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /trial: unknown flag --bogus \(npm run trial -- --help lists them\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /setup:|build:/);
});

test("trial --help answers from a bare checkout: no npm packages, no venv, no build", () => {
  // Only what a fresh clone has: the two scripts, in a folder without node_modules, .venv or dist.
  const bare = scratchDir("trial-help");
  fs.mkdirSync(path.join(bare, "scripts"), { recursive: true });
  for (const f of ["trial.sh", "trial-options.cjs"]) fs.copyFileSync(path.join(ROOT, "scripts", f), path.join(bare, "scripts", f));
  const r = spawnSync("bash", [path.join(bare, "scripts", "trial.sh"), "--help"], { encoding: "utf8", timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^npm run trial -- \[flags\]/);
  assert.deepEqual(fs.readdirSync(bare), ["scripts"], "--help must not set anything up");
});

test("every trial flag is in the usage, and the usage names no flag the parser refuses", () => {
  const { FLAGS, USAGE, parseTrialArgs } = require(path.join(ROOT, "scripts", "trial-options.cjs"));
  const inUsage = [...USAGE.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m: RegExpMatchArray) => m[1]);
  assert.deepEqual(
    inUsage,
    FLAGS.map((f: string[]) => f[0].split(" ")[0]),
  );
  for (const [flag] of FLAGS as string[][]) {
    const [name, arg] = flag.split(" ");
    assert.doesNotThrow(() => parseTrialArgs(arg ? [name, "3"] : [name]), flag);
  }
  const src = fs.readFileSync(path.join(ROOT, "scripts", "trial-options.cjs"), "utf8");
  const parsed = [...src.matchAll(/a === "(--[a-z-]+)"/g)].map((m) => m[1]);
  assert.deepEqual(parsed.sort(), inUsage.sort(), "flags the parser takes");
});

test("trial ports never collide: every replica count up to the maximum fits, overlapping flags are refused", () => {
  const { parseTrialArgs, portsOf, MAX_REPLICAS } = require(path.join(ROOT, "scripts", "trial-options.cjs"));
  for (let n = 1; n <= MAX_REPLICAS; n++) {
    const o = parseTrialArgs(["--replicas", String(n)]);
    const ports = portsOf(o).map((u: [string, number]) => u[1]);
    assert.equal(new Set(ports).size, ports.length, `--replicas ${n}`);
  }
  assert.throws(
    () => parseTrialArgs(["--replicas", "2", "--control-port", "10004"]),
    /the replica 1 and the control would both use port 10004|the control and the replica 1 would both use port 10004/,
  );
  assert.throws(() => parseTrialArgs(["--admin-port", "18002"]), /would both use port 18002/);
  assert.throws(() => parseTrialArgs(["--replicas", "17"]), /--replicas takes a whole number from 1 to 16, got "17"/);
  assert.throws(() => parseTrialArgs(["--pods"]), /--pods takes a whole number from 1 to 50, got nothing/);
});

test("trial --replicas 2: two Envoys behind an L4 balancer share etcd; /gateways, restart and directory stop/start work", async () => {
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, "dist", "tools", "trial.js"),
      "--replicas",
      "2",
      "--listen-port",
      "20400",
      "--control-port",
      "20401",
      "--pod-base-port",
      "20421",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  try {
    const t0 = Date.now();
    while (!/is running with 2 gateway replicas/.test(out)) {
      if (proc.exitCode !== null || Date.now() - t0 > 90000) assert.fail(`trial did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(out, /gw1 listen 127\.0\.0\.1:20404 admin http:\/\/127\.0\.0\.1:20405/);
    assert.match(out, /gw2 listen 127\.0\.0\.1:20406 admin http:\/\/127\.0\.0\.1:20407/);
    const ctl = new ControlClient(20401);
    const gws = await ctl.gateways();
    assert.deepEqual(
      gws.map((g) => [g.id, g.listen, g.state]),
      [
        ["gw1", "127.0.0.1:20404", "running"],
        ["gw2", "127.0.0.1:20406", "running"],
      ],
    );
    const url = (room: string) => `ws://127.0.0.1:20400/ws?appId=demo&roomId=${room}`;
    const first = await Promise.all(["t1", "t1", "t2", "t2"].map((r) => join(url(r))));
    const restarted = await ctl.restartGateway("gw1");
    assert.equal(restarted.state, "running");
    await ctl.stopDirectory();
    const during = await join(url("t3"));
    await ctl.startDirectory();
    const again = await Promise.all(["t1", "t1", "t2", "t2"].map((r) => join(url(r))));
    for (const room of ["t1", "t2"]) {
      const pods = new Set([...first, ...again].filter((j) => j.room === `demo:${room}`).map((j) => j.pod));
      assert.equal(pods.size, 1, `room ${room} split after a replica restart: ${[...pods]}`);
    }
    await closeAll([...first, during, ...again]);
  } finally {
    proc.kill("SIGINT");
    assert.equal(await exited, 0, out.slice(-2000));
  }
});
