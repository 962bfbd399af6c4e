// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The proxy-wasm ABI 0.2.1 exports. Each one is a host entry point; all dispatch by context id.
// Exports that can reach host code are bracketed for the garbage-collection policy (collector.ts).
import { FilterHeadersStatus } from "./imports";
import { roots, streams, createContext } from "./context";
import { enterExport as enter, leaveExport as leave, collectIfIdle, streamFinished } from "./collector";
import { allocateForHost } from "./host";

/** ABI version marker: the host reads the export's name. Higress only adds its extensions for 0.2.1. */
export function proxy_abi_version_0_2_1(): void {}

/** proxy-wasm hook: memory for data the host hands to the module (released by abi/host.ts after copying). */
export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

/** proxy-wasm hook: a root (parent 0) or stream context is created. */
export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  enter();
  createContext(contextId, parentId);
  leave();
}

/** proxy-wasm hook: the VM starts (once per VM, root context). */
export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  enter();
  const ok = roots.has(rootId) ? roots.get(rootId).onVmStart(vmConfigSize) : false;
  leave();
  return ok;
}

/** proxy-wasm hook: a plugin configuration arrives; false rejects it. */
export function proxy_on_configure(rootId: u32, configSize: u32): bool {
  enter();
  const ok = roots.has(rootId) ? roots.get(rootId).onConfigure(configSize) : false;
  leave();
  return ok;
}

/** proxy-wasm hook: the tick set by proxy_set_tick_period_milliseconds fires (per root, per thread). */
export function proxy_on_tick(rootId: u32): void {
  enter();
  if (roots.has(rootId)) roots.get(rootId).onTick();
  leave();
  collectIfIdle();
}

/** proxy-wasm hook: a proxy_http_call completed (or failed: headers 0, body 0). */
export function proxy_on_http_call_response(rootId: u32, token: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
  enter();
  if (roots.has(rootId)) roots.get(rootId).onHttpCallResponse(token, headerCount, bodySize);
  leave();
}

/** proxy-wasm hook: request headers of a stream. */
export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  enter();
  const status = streams.has(contextId) ? streams.get(contextId).onRequestHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
  leave();
  return status;
}

/** proxy-wasm hook: response headers of a stream (the 101 of a WebSocket upgrade). */
export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: bool): FilterHeadersStatus {
  enter();
  const status = streams.has(contextId) ? streams.get(contextId).onResponseHeaders(headerCount, endOfStream) : FilterHeadersStatus.Continue;
  leave();
  return status;
}

// No proxy_on_done and no proxy_on_log: the plugin has nothing to do in them, and Envoy calls a hook
// only when the module exports it. Each would be one more VM entry per stream, the same kind of entry
// that makes a host call handing back a value the dearest one (BENCHMARKS.md prices them).

/** proxy-wasm hook: the context is gone; drop our state for it. */
export function proxy_on_delete(contextId: u32): void {
  if (streams.has(contextId)) {
    streams.delete(contextId);
    streamFinished();
  } else if (roots.has(contextId)) {
    roots.delete(contextId);
  }
}
