// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What one handshake asks of the host, per kind of request, through the real build outputs in the host
// emulator: host calls by name, values handed back into the module, the host's calls into the module
// (hooks and allocator calls: each is a VM entry in Envoy), and the module's own time. Host
// calls are counted exactly (the same on every run), so `npm run bench` prints them beside Envoy's CPU
// and the host-call budget test (tests/host-calls.test.ts) holds them.
import { WasmVm, newProcess, UpstreamHost, adminClustersJson } from "./host-emulator";

export type ProfileScenario = "pinned join" | "new room" | "no-key pass" | "plain request";
export const PROFILE_SCENARIOS: ProfileScenario[] = ["pinned join", "new room", "no-key pass", "plain request"];

export interface HandshakeProfile {
  scenario: ProfileScenario;
  /** Host calls per handshake, by function name. */
  calls: Record<string, number>;
  hostCalls: number;
  /** Values the host handed back (one call into the module's allocator each). */
  allocations: number;
  /** The same, by the host call that handed them back. */
  handedBack: Record<string, number>;
  /** Calls from the host into the module per handshake, by export: hooks and allocator calls. */
  entries: Record<string, number>;
  /** Property reads per handshake, by property path ("xds.cluster_name"). */
  properties: Record<string, number>;
  /** The module's own time per handshake in microseconds (V8 in Node, exports minus host calls). */
  moduleUs: number;
}

const HOSTS = (): UpstreamHost[] => Array.from({ length: 6 }, (_, i) => ({ address: `10.0.0.${i + 1}:8080`, health: "Healthy" as const }));
const KNOWN_ROOMS = 1000;

/**
 * A configured VM with KNOWN_ROOMS rooms already pinned, profiling on. By default each room was joined
 * once more since, so the worker holds copies of their buckets, as it does once a room's first players
 * are in; `joinedSince: false` leaves only the pins. `config` is the plugin's (its defaults if empty).
 */
export async function profilingVm(
  wasmPath: string,
  higress: boolean,
  isPlugin = true,
  joinedSince = true,
  config: object = {},
): Promise<WasmVm> {
  const proc = newProcess(HOSTS());
  const vm = await WasmVm.load(wasmPath, proc, higress, { profile: true });
  if (!vm.configure(config) && isPlugin) throw new Error(`configure failed: ${JSON.stringify(vm.logs)}`);
  if (isPlugin) vm.tick();
  // Stock Envoy learns membership from the admin interface on the tick.
  if (isPlugin && !higress && vm.httpCalls.length > 0) vm.answerHttpCall(200, adminClustersJson(proc));
  for (let pass = 0; pass < (joinedSince ? 2 : 1); pass++) {
    for (let i = 0; i < KNOWN_ROOMS; i++) vm.request({ path: `/ws?appId=p&roomId=${i}` });
  }
  return vm;
}

let fresh = 0;

/** Runs `n` handshakes of one scenario and returns what they asked of the host, per handshake. */
export function profileScenario(vm: WasmVm, scenario: ProfileScenario, n: number): HandshakeProfile {
  const prof = vm.profile!;
  prof.reset();
  for (let i = 0; i < n; i++) {
    switch (scenario) {
      case "pinned join":
        vm.request({ path: `/ws?appId=p&roomId=${(i * 7919) % KNOWN_ROOMS}` });
        break;
      case "new room":
        vm.request({ path: `/ws?appId=p&roomId=new-${fresh++}` });
        break;
      case "no-key pass":
        vm.request({ path: "/ws?other=1" });
        break;
      case "plain request":
        vm.request({ path: "/api/rank?appId=p&roomId=1", upgrade: false });
        break;
    }
  }
  const calls: Record<string, number> = {};
  for (const [name, c] of [...prof.calls].sort()) calls[name.replace(/^proxy_/, "")] = c / n;
  const handedBack: Record<string, number> = {};
  for (const [name, c] of [...prof.handedBack].sort()) handedBack[name.replace(/^proxy_/, "")] = c / n;
  const entries: Record<string, number> = {};
  for (const [name, c] of [...prof.entries].sort()) entries[name.replace(/^proxy_/, "")] = c / n;
  const properties: Record<string, number> = {};
  for (const [name, c] of [...prof.properties].sort()) properties[name] = c / n;
  return {
    scenario,
    calls,
    hostCalls: prof.total / n,
    allocations: prof.allocations / n,
    handedBack,
    entries,
    properties,
    moduleUs: Number(prof.moduleNs) / 1e3 / n,
  };
}
