#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# `npm run bench` and `npm run compare`: installs what the measurement needs, builds, runs it with the
# flags given after `--` (npm appends them to this script, not to the last command of a chain), then
# renders BENCHMARKS.md from the results.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: measure.sh bench|compare [flags]}"
shift
case "$what" in
  bench | compare) ;;
  *) echo "measure.sh: unknown measurement '$what' (bench or compare)" >&2; exit 2 ;;
esac
bash scripts/setup.sh "$what"
bash scripts/build.sh
node "dist/bench/$what.js" "$@"
node dist/bench/report.js
