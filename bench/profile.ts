// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { WASM_ENVOY, WASM_HIGRESS, WASM_FLOOR } from "../tools/lib/paths";
import { profilingVm, profileScenario, PROFILE_SCENARIOS, HandshakeProfile } from "../tools/lib/handshake-profile";
import { Options, spreadOf } from "./common";

/**
 * Per kind of request, through both builds: host calls by name and values handed back (exact counts),
 * and the module's own time per handshake (median, min..max over the rounds, scenarios interleaved).
 * The floor build runs the same way: its "module time" is the measuring overhead alone.
 */
export async function profileBench(o: Options) {
  const n = o.smoke ? 500 : 20_000;
  const builds = [
    { name: "envoy.wasm", vm: await profilingVm(WASM_ENVOY, false) },
    { name: "higress.wasm", vm: await profilingVm(WASM_HIGRESS, true) },
    { name: "floor.wasm", vm: await profilingVm(WASM_FLOOR, false, false) },
  ];
  const times: Record<string, number[]> = {};
  const rows: Record<string, HandshakeProfile> = {};
  for (let round = 0; round <= o.rounds; round++) {
    for (const sc of PROFILE_SCENARIOS) {
      for (const b of builds) {
        const p = profileScenario(b.vm, sc, n);
        if (round === 0) continue; // warm-up: JIT tiers and caches
        (times[`${b.name} ${sc}`] ??= []).push(p.moduleUs);
        rows[`${b.name} ${sc}`] = p;
      }
    }
  }
  return Object.entries(rows).map(([k, p]) => ({ build: k.split(" ")[0], ...p, moduleUs: spreadOf(times[k]) }));
}
