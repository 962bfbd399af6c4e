// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Wrappers over Higress's extensions to ABI 0.2.1 (higress-imports.ts), with their pointer work.
// Only the Higress build target reaches this file: stock Envoy would refuse a module importing them.
import { Status } from "./imports";
import { proxy_set_upstream_override_host, proxy_get_upstream_hosts, proxy_redis_init, proxy_redis_call } from "./higress-imports";
import { surface, takeHostBytes, reclaimScratch, utf8 } from "./host";
import { decodePairs } from "./pairs";

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);

/** Routes the current stream to the address whose UTF-8 bytes are `a` ("ip:port"); Envoy still checks membership and health. */
export function setUpstreamOverrideHost(a: ArrayBuffer): void {
  const status = proxy_set_upstream_override_host(changetype<usize>(a), a.byteLength);
  if (status != Status.Ok) surface("proxy_set_upstream_override_host", status);
}

/**
 * The routed cluster's hosts as [address, JSON info] pairs; null when the host has none for this
 * stream (or answered bytes that are not a pair map, which is surfaced).
 */
export function getUpstreamHosts(): string[][] | null {
  reclaimScratch();
  const status = proxy_get_upstream_hosts(RET_PTR, RET_SIZE);
  if (status != Status.Ok) {
    if (status != Status.NotFound) surface("proxy_get_upstream_hosts", status);
    return null;
  }
  const pairs = decodePairs(takeHostBytes(load<usize>(RET_PTR), load<usize>(RET_SIZE)));
  if (pairs == null) surface("proxy_get_upstream_hosts (malformed pair map)", Status.Ok);
  return pairs;
}

/** on_configure: prepares Redis calls to `cluster`; false if the host refused (surfaced). */
export function redisInit(cluster: string, username: string, password: string, timeoutMs: u32): bool {
  const c = utf8(cluster);
  const u = utf8(username);
  const p = utf8(password);
  const status = proxy_redis_init(
    changetype<usize>(c),
    c.byteLength,
    changetype<usize>(u),
    u.byteLength,
    changetype<usize>(p),
    p.byteLength,
    timeoutMs,
  );
  if (status != Status.Ok) {
    surface("proxy_redis_init", status);
    return false;
  }
  return true;
}

/** Sends a RESP command to `cluster` from the effective context; the token, or -1 if refused (surfaced). */
export function redisCall(cluster: string, query: string): i64 {
  const c = utf8(cluster);
  const q = utf8(query);
  const status = proxy_redis_call(changetype<usize>(c), c.byteLength, changetype<usize>(q), q.byteLength, RET_PTR);
  if (status != Status.Ok) {
    surface("proxy_redis_call", status);
    return -1;
  }
  return <i64>load<u32>(RET_PTR);
}
