// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What the plugin says of a configuration, asked of the built module itself in the host emulator:
// "" when it configures, else the plugin's own error line (the one Envoy would log).
import { WASM_ENVOY, WASM_HIGRESS } from "./paths";
import { WasmVm, newProcess } from "./host-emulator";

export async function pluginConfigVerdict(config: unknown, higress = false): Promise<string> {
  const vm = await WasmVm.load(higress ? WASM_HIGRESS : WASM_ENVOY, newProcess([]), higress);
  const ok = vm.configure(typeof config === "string" ? config : JSON.stringify(config));
  return ok ? "" : (vm.logs.find((l) => l.level === 4)?.message ?? "rejected without a message");
}
