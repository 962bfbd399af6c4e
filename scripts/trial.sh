#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# `npm run trial -- [flags]`: flags are checked (and --help answered) before any set-up or build; then
# set-up installs only what these flags need, the build runs, and the trial starts.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=$(node scripts/trial-options.cjs --profile "$@")
if [ "$profile" = help ]; then
  node scripts/trial-options.cjs --usage
  exit 0
fi
bash scripts/setup.sh "$profile"
bash scripts/build.sh >/dev/null
exec node dist/tools/trial.js "$@"
