// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The Docker paths users take, on a real Docker engine: `docker compose up` from deploy/envoy serves
// rooms with Envoy's admin reachable from the host and the access log on stdout; the plugin image built
// from deploy/image/Dockerfile holds the build. No registry is reachable here, so the images the compose
// file names are built locally (tools/lib/docker.ts) and handed to it by its ENVOY_IMAGE/POD_IMAGE
// variables.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT, WASM_HIGRESS, scratchDir } from "../tools/lib/paths";
import { DockerEngine, debianNodeImage, envoyImage, composeCommand, run } from "../tools/lib/docker";
import { join, closeAll } from "../tools/lib/clients";
import { httpGet } from "../tools/lib/http";
import { waitFor } from "../tools/lib/wait";

const engine = new DockerEngine();
let images: { envoy: string; pod: string };

before(async () => {
  await engine.start();
  const pod = debianNodeImage();
  images = { pod, envoy: envoyImage(pod) };
});

after(async () => {
  await engine.stop();
});

const listing = (dir: string) => fs.readdirSync(dir).sort();

test("docker compose up from deploy/envoy serves rooms; admin answers on the host; the access log is on stdout; nothing is written into deploy/envoy", async () => {
  const dir = path.join(ROOT, "deploy", "envoy");
  const filesBefore = listing(dir);
  const [cmd, ...sub] = composeCommand();
  const env = { ...process.env, ENVOY_IMAGE: images.envoy, POD_IMAGE: images.pod };
  const compose = (...args: string[]) =>
    run(cmd, [...sub, "-p", "room-affinity-test", "-f", path.join(dir, "docker-compose.yaml"), ...args], { env, cwd: dir });
  compose("up", "-d");
  try {
    await waitFor("Envoy admin from the host", async () => (await httpGet("127.0.0.1", 9901, "/ready")).body.trim() === "LIVE", 60_000);
    await waitFor(
      "plugin membership",
      async () => (await httpGet("127.0.0.1", 9901, "/stats?filter=eligible_hosts")).body.includes(": 3"),
      30_000,
    );
    const players = await Promise.all([0, 1, 2, 3].map(() => join("ws://127.0.0.1:10000/ws?appId=compose&roomId=1")));
    await closeAll(players);
    assert.equal(new Set(players.map((p) => p.pod)).size, 1, `players of one room on ${players.map((p) => p.pod)}`);
    const stats = (await httpGet("127.0.0.1", 9901, "/stats?filter=room_affinity.learned_total")).body;
    assert.match(stats, /room_affinity\.learned_total: 1/);
    await waitFor(
      "the access log on Envoy's stdout",
      async () => / 101 .*172\.30\.0\.1[123]:8080/.test(compose("logs", "--no-color", "envoy")),
      10_000,
    );
    assert.deepEqual(listing(dir), filesBefore, "compose wrote into deploy/envoy");
  } finally {
    compose("down", "-v", "--remove-orphans");
  }
});

test("the plugin image built from deploy/image/Dockerfile holds build/higress.wasm as plugin.wasm", () => {
  const ctx = scratchDir("plugin-image");
  fs.copyFileSync(WASM_HIGRESS, path.join(ctx, "plugin.wasm"));
  const tag = "room-affinity-test/plugin:local";
  run("docker", ["build", "-q", "-t", tag, "-f", path.join(ROOT, "deploy", "image", "Dockerfile"), ctx]);
  const id = run("docker", ["create", tag, "none"]).trim();
  try {
    const tar = execFileSync("docker", ["export", id], { maxBuffer: 64 << 20 });
    const out = scratchDir("plugin-image-out");
    fs.writeFileSync(path.join(out, "fs.tar"), tar);
    const names = run("tar", ["-tf", path.join(out, "fs.tar")])
      .split("\n")
      .filter((n) => n && !/^(\.\/)?(dev|etc|proc|sys)(\/|$)/.test(n) && n !== "./" && !n.startsWith(".dockerenv"));
    assert.deepEqual(
      names.map((n) => n.replace(/^\.\//, "")),
      ["plugin.wasm"],
      "the image holds plugin.wasm alone",
    );
    run("tar", ["-C", out, "-xf", path.join(out, "fs.tar"), "plugin.wasm"]);
    assert.ok(fs.readFileSync(path.join(out, "plugin.wasm")).equals(fs.readFileSync(WASM_HIGRESS)));
  } finally {
    run("docker", ["rm", id]);
  }
});
