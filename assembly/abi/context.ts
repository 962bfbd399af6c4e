// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Root and stream (HTTP) contexts, as the host creates them through proxy_on_context_create.
// The plugin subclasses these; ./exports.ts routes each ABI hook to the right instance.
import { FilterHeadersStatus } from "./imports";

export abstract class RootContext {
  constructor(public readonly id: u32) {}
  /** proxy_on_vm_start */
  onVmStart(vmConfigSize: u32): bool {
    return true;
  }
  /** proxy_on_configure: false makes the host reject this plugin configuration. */
  onConfigure(pluginConfigSize: u32): bool {
    return true;
  }
  /** proxy_on_tick */
  onTick(): void {}
  /** proxy_on_http_call_response */
  onHttpCallResponse(token: u32, headerCount: u32, bodySize: u32): void {}
  /** proxy_on_redis_call_response (Higress only) */
  onRedisCallResponse(token: u32, status: u32, responseSize: u32): void {}
  /** proxy_on_context_create for a stream whose parent is this root. */
  abstract newHttpContext(id: u32): HttpContext;
}

export class HttpContext {
  constructor(public readonly id: u32) {}
  /** proxy_on_request_headers */
  onRequestHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
  /** proxy_on_response_headers */
  onResponseHeaders(headerCount: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
}

/** Creates the root context for a root id; set once by the build target. */
export type RootFactory = (id: u32) => RootContext;

let rootFactory: RootFactory | null = null;
export const roots = new Map<u32, RootContext>();
export const streams = new Map<u32, HttpContext>();

export function setRootFactory(f: RootFactory): void {
  rootFactory = f;
}

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    const f = rootFactory;
    if (f != null) roots.set(id, f(id));
    return;
  }
  if (roots.has(parentId)) streams.set(id, roots.get(parentId).newHttpContext(id));
}
