#!/usr/bin/env bash
# `npm run package`: the Higress artifacts of build/higress.wasm, from an existing tool (umoci, Debian):
#   build/oci/                      OCI image layout, tag = package.json version, one layer holding
#                                   /plugin.wasm (the image format Higress documents: FROM scratch +
#                                   COPY plugin.wasm). Push it with: skopeo copy oci:build/oci:<version>
#                                   docker://<registry>/<repo>:<version>
#   build/http/room-affinity/<version>/plugin.wasm   the file to serve for an http(s):// url
# and prints the digests the WasmPlugin `sha256` field takes.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./package.json').version")
[ -f build/higress.wasm ] || { echo "package: build/higress.wasm missing: run npm run build" >&2; exit 1; }
if ! command -v umoci >/dev/null; then
  echo "package: installing umoci (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends umoci >/dev/null
fi

out=build/oci
rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:$version"
umoci insert --image "$out:$version" build/higress.wasm /plugin.wasm
umoci config --image "$out:$version" \
  --config.label "org.opencontainers.image.title=room-affinity" \
  --config.label "org.opencontainers.image.version=$version" >/dev/null
umoci gc --layout "$out"

mkdir -p "build/http/room-affinity/$version"
cp build/higress.wasm "build/http/room-affinity/$version/plugin.wasm"

manifest=$(node -e "const i=require('./$out/index.json'); const m=i.manifests.find(x=>x.annotations&&x.annotations['org.opencontainers.image.ref.name']==='$version'); console.log(m.digest.replace('sha256:',''))")
wasm=$(sha256sum build/higress.wasm | cut -d' ' -f1)
echo "package: OCI image layout $out (tag $version), manifest sha256:$manifest"
echo "package:   WasmPlugin url oci://<registry>/<repo>:$version  sha256: $manifest"
echo "package: http file build/http/room-affinity/$version/plugin.wasm"
echo "package:   WasmPlugin url http(s)://<host>/room-affinity/$version/plugin.wasm  sha256: $wasm"
