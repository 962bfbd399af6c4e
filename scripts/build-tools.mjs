// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Transpiles the TypeScript tooling (tools/, tests/) to dist/ with esbuild; type checking is `tsc --noEmit`.
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";

const entries = [];
for (const dir of ["tools", "tests", "bench"]) {
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir, { recursive: true })) {
    if (typeof f === "string" && f.endsWith(".ts") && !f.endsWith(".d.ts")) entries.push(path.join(dir, f));
  }
}
await build({
  entryPoints: entries,
  outdir: "dist",
  outbase: ".",
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
