// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Garbage-collection policy for AssemblyScript's minimal runtime, whose collector does not scan the
// wasm stack: it may only run when no export is active. Hosts re-enter the module while it runs (a
// local reply calls the response hooks from inside proxy_send_local_response), so every export that
// can reach host code counts its depth (exports.ts), and collection happens only at depth 0: after
// every COLLECT_EVERY_STREAMS finished streams, and after every tick. The interval trades marking
// cost per stream against garbage held; BENCHMARKS.md has the figures.
const COLLECT_EVERY_STREAMS: u32 = 512;
let depth: i32 = 0;
let finishedStreams: u32 = 0;

/** Called by exports.ts: an export that may reach host code starts. */
export function enterExport(): void {
  depth++;
}
/** Called by exports.ts: that export returns. */
export function leaveExport(): void {
  depth--;
}

/** Called by exports.ts: after a tick, collect if no export is active. */
export function collectIfIdle(): void {
  if (depth == 0) __collect();
}

/** Called by exports.ts: a stream context was deleted; collect every COLLECT_EVERY_STREAMS of them. */
export function streamFinished(): void {
  if (++finishedStreams % COLLECT_EVERY_STREAMS == 0) collectIfIdle();
}

/**
 * For long loops inside proxy_on_tick / proxy_on_http_call_response (the sweeper): collects if that
 * export is the only one active. The caller guarantees that everything it still needs is reachable
 * from globals (object fields), not only from locals, at the point of the call.
 */
export function collectInsideHook(): void {
  if (depth == 1) __collect();
}
