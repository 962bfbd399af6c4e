#!/usr/bin/env bash
# Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
# `npm run package`: the Higress artifacts of build/higress.wasm.
#   build/package/plugin.wasm       the module, and the build context of deploy/image/Dockerfile
#                                   (docker build -f deploy/image/Dockerfile build/package)
#   build/oci/                      the same image as an OCI image layout made with umoci (no Docker
#                                   needed), tagged <version> and <version>-g<commit>; push it with
#                                   skopeo copy oci:build/oci:<tag> docker://<registry>/room-affinity:<tag>
#   build/package/settings-oci.yaml, settings-http.yaml
#                                   the pluginUrl and pluginSha256 lines for deploy/higress/base/settings.yaml
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./package.json').version")
commit=$(git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"
tag_commit="$version-g$commit"
[ -f build/higress.wasm ] || { echo "package: build/higress.wasm missing: run npm run build" >&2; exit 1; }
command -v umoci >/dev/null || { echo "package: umoci missing; as root: apt-get install -y umoci" >&2; exit 1; }

mkdir -p build/package
cp build/higress.wasm build/package/plugin.wasm

out=build/oci
rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:$version"
umoci insert --image "$out:$version" build/package/plugin.wasm /plugin.wasm
umoci config --image "$out:$version" \
  --config.label "org.opencontainers.image.title=room-affinity" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$commit" >/dev/null
umoci tag --image "$out:$version" "$tag_commit"
umoci gc --layout "$out"

mkdir -p "build/http/room-affinity/$tag_commit"
cp build/package/plugin.wasm "build/http/room-affinity/$tag_commit/plugin.wasm"

manifest=$(node -e "const i=require('./$out/index.json'); const m=i.manifests.find(x=>x.annotations&&x.annotations['org.opencontainers.image.ref.name']==='$tag_commit'); console.log(m.digest.replace('sha256:',''))")
wasm=$(sha256sum build/package/plugin.wasm | cut -d' ' -f1)
cat > build/package/settings-oci.yaml <<EOF
  pluginUrl: "oci://<registry>/room-affinity:$tag_commit"
  pluginSha256: "$manifest"
EOF
cat > build/package/settings-http.yaml <<EOF
  pluginUrl: "https://<host>/room-affinity/$tag_commit/plugin.wasm"
  pluginSha256: "$wasm"
EOF
echo "package: OCI image layout $out, tags $version and $tag_commit, manifest sha256:$manifest"
echo "package:   push: skopeo copy oci:$out:$tag_commit docker://<registry>/room-affinity:$tag_commit"
echo "package:   or:   docker build -t <registry>/room-affinity:$tag_commit -f deploy/image/Dockerfile build/package"
echo "package: http file build/http/room-affinity/$tag_commit/plugin.wasm, sha256 $wasm"
echo "package: lines for deploy/higress/base/settings.yaml: build/package/settings-oci.yaml (or settings-http.yaml)"
