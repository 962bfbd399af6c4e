// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { proxy_log } from "./imports";

// Replaces AssemblyScript's default `env.abort` import, which no proxy-wasm host provides (the module
// would not load). Reports the failure at critical level, then traps so the host sees the VM fail.
export function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text =
    "room-affinity: abort: " +
    (message == null ? "" : message) +
    " at " +
    (fileName == null ? "?" : fileName) +
    ":" +
    line.toString() +
    ":" +
    column.toString();
  const b = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(b), b.byteLength);
  unreachable();
}
