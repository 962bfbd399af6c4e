// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What each host call costs Envoy, in CPU: probe modules that repeat one call per request.
import http from "node:http";
import { WASM_FLOOR, WASM_PROBE } from "../tools/lib/paths";
import { Layout, Endpoint } from "../tools/lib/envoy-config";
import { Gateway, startGateway } from "../tools/lib/gateway";
import { browserHeaders } from "../tools/lib/clients";
import { Options, cpuMicros, slicedRound, spreadOf } from "./common";

/** Host calls the probe makes per request; enough that their cost stands out of the machine's noise. */
export const PROBE_CALLS_PER_REQUEST = 20;
/** The host calls priced, as assembly/targets/probe.ts names them. */
export const PROBED_CALLS = [
  "get_header",
  "get_header_absent",
  "replace_header",
  "remove_header",
  "get_property",
  "get_shared_data",
  "get_shared_data_empty",
  "increment_metric",
  "get_current_time",
  "get_header_pairs",
];

/** A browser's handshake headers with a 908-byte cookie: what a join hands the gateway besides its path. */
export const BROWSER_HEADERS = browserHeaders(20);

/**
 * Keyed keep-alive GETs over `concurrency` connections (rooms ka0..ka999), for `seconds` or until
 * `requests` were sent; resolves with the number answered 200. No connection set-up per request, so
 * the filter's share of each is larger than in a handshake.
 */
export async function keepAliveLoad(
  port: number,
  until: { seconds?: number; requests?: number },
  concurrency: number,
  headers: Record<string, string> = {},
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let n = 0;
  const get = () =>
    new Promise<boolean>((resolve) => {
      http
        .get({ host: "127.0.0.1", port, path: `/ka?appId=bench&roomId=ka${n++ % 1000}`, agent, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200));
        })
        .on("error", () => resolve(false));
    });
  let ok = 0;
  const end = until.seconds === undefined ? Infinity : Date.now() + until.seconds * 1000;
  const limit = until.requests ?? Infinity;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end && n < limit) if (await get()) ok++;
    }),
  );
  agent.destroy();
  return ok;
}

/**
 * The price of each host call through real Envoy: the probe (the floor plus PROBE_CALLS_PER_REQUEST
 * calls of one host function per request) against the floor, in interleaved rounds of keep-alive
 * requests; (probe - floor) / calls is one call's Envoy CPU, median and min..max over the rounds.
 */
export async function hostCallCosts(o: Options, endpoints: Endpoint[]) {
  // The plugin too, on the same requests (websocketOnly off, so a keyed GET is a join; the warm-up pins
  // the rooms): its cost over the floor without connection set-up, beside the price list.
  const systems: { name: string; layout: Partial<Layout> }[] = [
    { name: "floor", layout: { wasmPath: WASM_FLOOR } },
    { name: "plugin", layout: { pluginConfig: JSON.stringify({ websocketOnly: false }) } },
    ...PROBED_CALLS.map((c) => ({ name: c, layout: { wasmPath: WASM_PROBE, pluginConfig: `${c}:${PROBE_CALLS_PER_REQUEST}` } })),
  ];
  const running: { name: string; gw: Gateway; port: number }[] = [];
  let port = 23400;
  try {
    for (const sys of systems) {
      const layout = sys.layout;
      const gw = await startGateway({
        name: `bench-probe-${sys.name}`,
        listenPort: port,
        adminPort: port + 1,
        endpoints,
        layout,
        start: { logLevel: "warning", wasmLogLevel: "info" },
      });
      running.push({ name: sys.name, gw, port });
      port += 10;
    }
    await running[1].gw.waitMembership(endpoints.length);
    const seconds = o.smoke ? 1 : 2;
    for (const r of running) await keepAliveLoad(r.port, { seconds: 1 }, o.concurrency); // warm-up
    const cpuPerRequest: Record<string, number[]> = Object.fromEntries(running.map((r) => [r.name, []]));
    for (let round = 0; round < o.rounds; round++) {
      const sums = new Map(running.map((r) => [r.name, { cpuUs: 0, requests: 0 }]));
      await slicedRound(running, round, o.slices, async (r) => {
        const sum = sums.get(r.name)!;
        const c0 = cpuMicros(r.gw.envoy.proc.pid!);
        sum.requests += await keepAliveLoad(r.port, { seconds: seconds / o.slices }, o.concurrency);
        sum.cpuUs += cpuMicros(r.gw.envoy.proc.pid!) - c0;
      });
      for (const r of running) {
        const sum = sums.get(r.name)!;
        cpuPerRequest[r.name].push(sum.cpuUs / Math.max(1, sum.requests));
      }
    }
    return {
      callsPerRequest: PROBE_CALLS_PER_REQUEST,
      seconds,
      floorUsPerRequest: spreadOf(cpuPerRequest.floor),
      pluginOverFloorUs: spreadOf(cpuPerRequest.plugin.map((x, i) => x - cpuPerRequest.floor[i])),
      perCallUs: Object.fromEntries(
        PROBED_CALLS.map((c) => [c, spreadOf(cpuPerRequest[c].map((x, i) => (x - cpuPerRequest.floor[i]) / PROBE_CALLS_PER_REQUEST))]),
      ),
    };
  } finally {
    for (const r of running) await r.gw.close();
  }
}
