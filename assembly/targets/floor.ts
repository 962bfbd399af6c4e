// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Build target for the benchmark floor (build/floor.wasm), not the plugin: the least a proxy-wasm
// filter can be. It exports the stream hooks the plugin exports (tests/wasm-interface.test.ts holds
// them equal), and they return at once, touch no host function and keep no state, so a gateway with it
// in the filter chain costs Envoy's own wasm machinery (a VM context per stream, one call per hook) and
// nothing else. `npm run bench` sets it beside the plugin: floor minus stateful_session only
// is Envoy's cost of running any wasm filter; plugin minus floor is this plugin's own.
import "../abi/abort";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  return true;
}

export function proxy_on_configure(rootId: u32, configSize: u32): bool {
  return true;
}

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_delete(contextId: u32): void {}
