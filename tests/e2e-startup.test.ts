// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Envoy refuses a listener whose inline plugin config is invalid, with the plugin's message in its log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startEnvoy } from "../tools/lib/envoy";
import { scratchDir, WASM_ENVOY } from "../tools/lib/paths";

test("invalid inline plugin config: Envoy refuses to start and names the field", async () => {
  const layout = {
    dir: scratchDir("e2e-startup"),
    listenHost: "127.0.0.1",
    listenPort: 20200,
    adminPort: 20201,
    wasmPath: WASM_ENVOY,
    pluginConfig: JSON.stringify({ onMissingKey: "drop" }),
    endpoints: [{ host: "127.0.0.1", port: 20211 }],
    ecds: false,
  };
  const envoy = await startEnvoy(layout, { waitReady: false });
  const timer = setTimeout(() => envoy.proc.kill("SIGKILL"), 20000);
  const code = await envoy.exited;
  clearTimeout(timer);
  assert.notEqual(code, 0, "Envoy should exit with an error");
  const log = envoy.log();
  assert.match(log, /invalid config field 'onMissingKey': expected "passthrough" or "reject", got "drop"/);
  console.log(
    log
      .split("\n")
      .filter((l) => /critical|error/.test(l))
      .slice(-3)
      .join("\n"),
  );
});
