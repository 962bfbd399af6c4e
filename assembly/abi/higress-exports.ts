// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Higress-only ABI exports: the Redis call callback. Only the Higress target re-exports this file.
import { roots } from "./context";
import { enterExport as enter, leaveExport as leave } from "./collector";

/** proxy-wasm hook (Higress): a proxy_redis_call completed; status 0 = reply in buffer 9, else a network error. */
export function proxy_on_redis_call_response(rootId: u32, token: u32, status: u32, responseSize: u32): void {
  enter();
  if (roots.has(rootId)) roots.get(rootId).onRedisCallResponse(token, status, responseSize);
  leave();
}
