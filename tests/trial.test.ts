// The README's trial command works: `node dist/tools/trial.js --check` starts pods and Envoy,
// self-checks that rooms do not split, and exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import { ControlClient } from "../tools/lib/control";
import { join, closeAll } from "../tools/lib/clients";
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

test("trial --replicas 2: two Envoys behind an L4 balancer share etcd; /gateways, restart and directory stop/start work", async () => {
  const proc = spawn(process.execPath, [path.join(ROOT, "dist", "tools", "trial.js"), "--replicas", "2",
    "--listen-port", "20400", "--control-port", "20401"], { stdio: ["ignore", "pipe", "pipe"] });
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
    assert.match(out, /gw1 listen 127\.0\.0\.1:20402 admin http:\/\/127\.0\.0\.1:20403/);
    assert.match(out, /gw2 listen 127\.0\.0\.1:20404 admin http:\/\/127\.0\.0\.1:20405/);
    const ctl = new ControlClient(20401);
    const gws = await ctl.gateways();
    assert.deepEqual(gws.map((g) => [g.id, g.listen, g.state]), [["gw1", "127.0.0.1:20402", "running"], ["gw2", "127.0.0.1:20404", "running"]]);
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
