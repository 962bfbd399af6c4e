// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Transpiles the TypeScript tooling (tools/, tests/, bench/) to dist/ with esbuild, and bundles the trial
// console; type checking is `tsc --noEmit` (and `-p console` for the console).
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

// The trial console (console/): a browser bundle with uPlot, served by the trial's control server
// from dist/console. Nothing of it goes into the plugin's builds.
fs.mkdirSync("dist/console", { recursive: true });
await build({
  entryPoints: ["console/console.ts"],
  outfile: "dist/console/console.js",
  bundle: true,
  platform: "browser",
  format: "iife",
  target: "es2022",
  minify: true,
  logLevel: "warning",
});
fs.copyFileSync("console/index.html", "dist/console/index.html");
fs.writeFileSync(
  "dist/console/console.css",
  fs.readFileSync("node_modules/uplot/dist/uPlot.min.css", "utf8") + "\n" + fs.readFileSync("console/console.css", "utf8"),
);
