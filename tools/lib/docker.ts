// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A real Docker engine for the deploy tests, with no image registry: the engine is started if none
// answers, and the images deploy/envoy/docker-compose.yaml names are built here, from a Debian root file
// system made with debootstrap (cached between runs) plus the Envoy binary the tests already run.
import { spawnSync, spawn, ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { envoyBinary, scratchDir } from "./paths";
import { waitFor } from "./wait";

/** Runs a command to completion; throws with its output if it fails. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.error}):\n${r.stdout}\n${r.stderr}`.slice(0, 8000));
  return r.stdout;
}

const answers = () => spawnSync("docker", ["info"], { encoding: "utf8" }).status === 0;

/** The engine: the running one, or one started here (stopped by `stop`). */
export class DockerEngine {
  private proc: ChildProcess | null = null;

  async start(): Promise<void> {
    if (answers()) return;
    const log = fs.openSync(path.join(scratchDir("dockerd"), "dockerd.log"), "a");
    this.proc = spawn("dockerd", [], { stdio: ["ignore", log, log] });
    await waitFor("the Docker engine", async () => answers(), 60_000, 250);
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    const exited = new Promise((r) => this.proc!.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
  }
}

export const hasImage = (tag: string) => spawnSync("docker", ["image", "inspect", tag], { encoding: "utf8" }).status === 0;

/** A Debian bookworm image with Node.js, imported from a debootstrap root file system (cached as a tarball). */
export function debianNodeImage(tag = "room-affinity-test/debian-node:bookworm"): string {
  if (hasImage(tag)) return tag;
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "room-affinity");
  const tarball = path.join(cache, "debian-bookworm-node.tar");
  if (!fs.existsSync(tarball)) {
    fs.mkdirSync(cache, { recursive: true });
    const root = scratchDir("debootstrap");
    run("debootstrap", ["--variant=minbase", "--include=nodejs", "bookworm", root, "http://deb.debian.org/debian"], {
      timeoutMs: 1_200_000,
    });
    run("tar", ["-C", root, "-cf", `${tarball}.tmp`, "."]);
    fs.renameSync(`${tarball}.tmp`, tarball);
    fs.rmSync(root, { recursive: true, force: true });
  }
  run("docker", ["import", tarball, tag]);
  return tag;
}

/** An image with the Envoy binary the tests run, on top of the Debian image. */
export function envoyImage(base: string, tag = "room-affinity-test/envoy:local"): string {
  const ctx = scratchDir("envoy-image");
  fs.copyFileSync(envoyBinary(), path.join(ctx, "envoy"));
  fs.chmodSync(path.join(ctx, "envoy"), 0o755);
  fs.writeFileSync(path.join(ctx, "Dockerfile"), `FROM ${base}\nCOPY envoy /usr/local/bin/envoy\n`);
  run("docker", ["build", "-q", "-t", tag, ctx]);
  fs.rmSync(ctx, { recursive: true, force: true });
  return tag;
}

/** `docker compose` where the CLI has the plugin, else Debian's `docker-compose`. */
export function composeCommand(): string[] {
  return spawnSync("docker", ["compose", "version"], { encoding: "utf8" }).status === 0 ? ["docker", "compose"] : ["docker-compose"];
}
