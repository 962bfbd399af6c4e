// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// `npm run package` (scripts/package.sh, umoci): the OCI image layout Higress pulls, checked against
// the OCI image-layout specification's required files and digests, and its layer against the build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { ROOT, WASM_HIGRESS } from "../tools/lib/paths";

const LAYOUT = path.join(ROOT, "build", "oci");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** Reads a blob named by a descriptor, checking the spec's rules: it exists, its sha256 and size match. */
function blob(d: Descriptor): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
  assert.ok(m, `digest ${d.digest} is not sha256:<64 hex>`);
  const file = path.join(LAYOUT, "blobs", "sha256", m![1]);
  assert.ok(fs.existsSync(file), `blob ${d.digest} missing`);
  const b = fs.readFileSync(file);
  assert.equal(crypto.createHash("sha256").update(b).digest("hex"), m![1], `blob ${d.digest} content does not match its digest`);
  assert.equal(b.length, d.size, `blob ${d.digest} size ${b.length} != descriptor ${d.size}`);
  return b;
}

/** Files in a tar archive (ustar headers), name -> content. */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const name = h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
    const prefix = h.toString("utf8", 345, 500).replace(/\0.*$/s, "");
    const size = parseInt(h.toString("utf8", 124, 136).replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156] || 48);
    if (type === "0" || type === "\0") files.set((prefix ? `${prefix}/` : "") + name, tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

test("npm run package writes an OCI image layout that follows the spec, with plugin.wasm as its layer", () => {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "package.sh")], { encoding: "utf8", timeout: 120000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;

  // Required files: oci-layout (with imageLayoutVersion) and index.json; blobs under blobs/<alg>/<hex>.
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(LAYOUT, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(fs.readFileSync(path.join(LAYOUT, "index.json"), "utf8"));
  assert.equal(index.schemaVersion, 2);
  const desc: Descriptor = index.manifests.find((m: Descriptor) => m.annotations?.["org.opencontainers.image.ref.name"] === version);
  assert.ok(desc, `no manifest tagged ${version}`);
  assert.equal(desc.mediaType, "application/vnd.oci.image.manifest.v1+json");

  const manifest = JSON.parse(blob(desc).toString("utf8"));
  assert.equal(manifest.schemaVersion, 2);
  assert.equal(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
  const config = JSON.parse(blob(manifest.config).toString("utf8"));
  assert.equal(config.config.Labels["org.opencontainers.image.version"], version);
  assert.equal(manifest.layers.length, 1, "one layer: /plugin.wasm");
  const layer = manifest.layers[0];
  assert.match(layer.mediaType, /^application\/vnd\.oci\.image\.layer\.v1\.tar(\+gzip)?$/);
  const tar = layer.mediaType.endsWith("+gzip") ? zlib.gunzipSync(blob(layer)) : blob(layer);
  // The config's diff_ids are the uncompressed layers' digests.
  assert.equal(config.rootfs.diff_ids[0], `sha256:${crypto.createHash("sha256").update(tar).digest("hex")}`);
  const files = untar(tar);
  const wasm = files.get("plugin.wasm") ?? files.get("./plugin.wasm");
  assert.ok(wasm, `layer files: ${[...files.keys()].join(", ")}`);
  assert.ok(wasm!.equals(fs.readFileSync(WASM_HIGRESS)), "layer's plugin.wasm differs from build/higress.wasm");

  // No stray blobs (umoci gc ran): every blob is referenced.
  const referenced = new Set([desc.digest, manifest.config.digest, layer.digest].map((d) => d.slice(7)));
  for (const f of fs.readdirSync(path.join(LAYOUT, "blobs", "sha256"))) assert.ok(referenced.has(f), `unreferenced blob ${f}`);

  // A second tag carries the commit, on the same manifest, so a rebuild is a new tag.
  const tags = index.manifests.map((m: Descriptor) => m.annotations?.["org.opencontainers.image.ref.name"]);
  const commitTag = tags.find((t: string) => t !== version);
  assert.match(commitTag, new RegExp(`^${version.replace(/\./g, "\\.")}-g[0-9a-f]{8}(-dirty)?$`), `tags: ${tags}`);
  assert.equal(
    index.manifests.find((m: Descriptor) => m.annotations?.["org.opencontainers.image.ref.name"] === commitTag).digest,
    desc.digest,
  );

  // The digests go into settings.yaml's pluginSha256: the manifest's for oci://, the module's for http(s)://.
  const settingsOci = fs.readFileSync(path.join(ROOT, "build", "package", "settings-oci.yaml"), "utf8");
  assert.match(
    settingsOci,
    new RegExp(`pluginUrl: "oci://<registry>/room-affinity:${commitTag}"\n  pluginSha256: "${desc.digest.slice(7)}"`),
  );
  const wasmSha = crypto.createHash("sha256").update(fs.readFileSync(WASM_HIGRESS)).digest("hex");
  const settingsHttp = fs.readFileSync(path.join(ROOT, "build", "package", "settings-http.yaml"), "utf8");
  assert.match(
    settingsHttp,
    new RegExp(`pluginUrl: "https://<host>/room-affinity/${commitTag}/plugin.wasm"\n  pluginSha256: "${wasmSha}"`),
  );
  assert.ok(
    fs.readFileSync(path.join(ROOT, "build", "http", "room-affinity", commitTag, "plugin.wasm")).equals(fs.readFileSync(WASM_HIGRESS)),
  );
  assert.ok(
    fs.readFileSync(path.join(ROOT, "build", "package", "plugin.wasm")).equals(fs.readFileSync(WASM_HIGRESS)),
    "the Dockerfile's context holds the build",
  );
});
