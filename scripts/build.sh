#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# Builds both wasm targets from the same sources, and transpiles the TypeScript tooling to dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
npx --no-install asc assembly/targets/envoy.ts --config asconfig.json --target envoy
npx --no-install asc assembly/targets/higress.ts --config asconfig.json --target higress
# The benchmark floor (npm run bench): a filter whose hooks only return Continue.
npx --no-install asc assembly/targets/floor.ts --config asconfig.json --target floor
# The benchmark probe: the floor plus N calls of one host function per request (cost per host call).
npx --no-install asc assembly/targets/probe.ts --config asconfig.json --target probe
node scripts/build-tools.mjs
echo "build: build/envoy.wasm $(stat -c %s build/envoy.wasm) B, build/higress.wasm $(stat -c %s build/higress.wasm) B"
