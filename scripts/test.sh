#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# The test command (`npm test`): set-up, build, type check, lint, AssemblyScript unit tests (as-pect),
# then the end-to-end and tooling tests (node --test, real Envoy + real WebSocket pods). `unit`
# (`npm run test:unit`) is the developer's fast loop: the same steps with only the tests that run the
# built module in the host emulator, no Envoy. The last line is "N passed, N failed" over all of them;
# the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export npm_config_loglevel=error
layer="${1:-all}"
case "$layer" in
  all) profile=test; node_tests=(dist/tests/) ;;
  # The built module in the host emulator, and the docs held to the code: no gateway, no pods.
  unit) profile=unit; node_tests=(dist/tests/emulator.test.js dist/tests/emulator-redis.test.js dist/tests/emulator-live.test.js
    dist/tests/host-calls.test.js dist/tests/wasm-interface.test.js dist/tests/docs.test.js) ;;
  *) echo "test: unknown layer '$layer' (all, unit)" >&2; exit 2 ;;
esac

passed=0
failed=0
finish() {
  echo "tests: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

step() { echo; echo "== $1"; }

step "setup"
if ! bash scripts/setup.sh "$profile"; then failed=$((failed + 1)); echo "setup failed"; finish; fi
step "build"
if ! bash scripts/build.sh; then failed=$((failed + 1)); echo "build failed"; finish; fi
step "type check (tsc --noEmit: tooling, console)"
if npx --no-install tsc --noEmit -p tsconfig.json && npx --no-install tsc --noEmit -p console/tsconfig.json; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "lint and format (biome check)"
if npx --no-install biome check --error-on-warnings .; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "unit tests (as-pect)"
out=$(mktemp)
npx --no-install asp --config as-pect.config.mjs 2>&1 | tee "$out"
asp_status=${PIPESTATUS[0]}
# "[Tests]: 53 / 53" (ANSI colours stripped)
line=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^\s*\[Tests\]:' | tail -1)
if [[ "$line" =~ ([0-9]+)\ /\ ([0-9]+) ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2] - BASH_REMATCH[1]))
fi
if [ "$asp_status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=$((failed + 1)); fi
rm -f "$out"

step "end-to-end and tooling tests (node --test)"
out=$(mktemp)
node --test --test-concurrency=1 --test-timeout=600000 "${node_tests[@]}" 2>&1 | tee "$out"
node_status=${PIPESTATUS[0]}
np=$(grep -E '^# pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
nf=$(grep -E '^# fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
passed=$((passed + ${np:-0}))
failed=$((failed + ${nf:-0}))
if [ "$node_status" -ne 0 ] && [ "${nf:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
rm -f "$out"

finish
