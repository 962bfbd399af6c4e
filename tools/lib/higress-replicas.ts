// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Higress gateway replicas as the host emulator stands them in: each replica a process of its own
// (its own shared data) running build/higress.wasm, all sharing one real redis-server as the room
// directory, reached under the cluster name the plugin derives from its configuration.
import assert from "node:assert/strict";
import { WasmVm, newProcess, UpstreamHost } from "./host-emulator";
import { WASM_HIGRESS } from "./paths";

export const hostsOf = (n: number): UpstreamHost[] =>
  Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}:8080`, health: "Healthy" as const }));

/**
 * One replica configured with `pluginConfig` (as Higress hands it over); its `directory`, if any, is
 * connected to the real Redis on `redisPort` whatever service name and port the configuration gives.
 * `hosts` is shared with the other replicas, so a scale-out reaches them all.
 */
export async function higressReplica(pluginConfig: Record<string, any>, hosts: UpstreamHost[], redisPort: number): Promise<WasmVm> {
  const proc = newProcess(hosts);
  proc.hosts = hosts;
  const d = pluginConfig.directory;
  if (d) proc.redisEndpoints.set(`outbound|${d.servicePort ?? 6379}||${d.serviceName}`, { host: "127.0.0.1", port: redisPort });
  const vm = await WasmVm.load(WASM_HIGRESS, proc, true);
  assert.equal(vm.configure(pluginConfig), true, JSON.stringify(vm.logs));
  return vm;
}

/**
 * A whole join through a replica: the request may wait for the directory, and its 101 for the room's
 * claim; its writes are awaited too. Returns the pod.
 */
export async function joinThrough(vm: WasmVm, path: string): Promise<string> {
  const p = vm.begin({ path });
  if (p.out.action === 1) await vm.redisIdle();
  const out = await vm.complete(p);
  await vm.redisIdle();
  assert.ok(out.upstream && !out.localReply, `join of ${path} failed: ${JSON.stringify(out.localReply)}`);
  return out.upstream!;
}
