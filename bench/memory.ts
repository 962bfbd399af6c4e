// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Envoy's memory per pinned room.
import http from "node:http";
import { scratchDir } from "../tools/lib/paths";
import { sleep } from "../tools/lib/wait";
import { Endpoint } from "../tools/lib/envoy-config";
import { EnvoySystem } from "../tools/lib/system";
import { Options, rssKb } from "./common";

export async function gatewayMemory(o: Options, endpoints: Endpoint[]) {
  const sys = new EnvoySystem("plugin", 23030, 23031, scratchDir("bench-mem"), { websocketOnly: false });
  await sys.start(endpoints);
  try {
    const pid = sys.gw!.envoy.proc.pid!;
    // Plain keep-alive GETs pin rooms as fast as the gateway allows (websocketOnly: false).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const get = (room: number) =>
      new Promise<void>((resolve) => {
        http
          .get({ host: "127.0.0.1", port: sys.port, path: `/p?appId=mem&roomId=${room}`, agent }, (res) => {
            res.resume();
            res.on("end", resolve);
          })
          .on("error", () => resolve());
      });
    // Warm up allocator and connection pools before the baseline.
    for (let i = 0; i < 2000; i += 64) await Promise.all(Array.from({ length: 64 }, (_, k) => get(-1 - ((i + k) % 50))));
    await sleep(1000);
    const before = rssKb(pid);
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < o.gatewayRooms) await get(next++);
      }),
    );
    const preloadS = (Date.now() - t0) / 1000;
    await sleep(3000);
    const after = rssKb(pid);
    const pins = await sys.gw!.stat("learned_total");
    agent.destroy();
    return {
      rooms: o.gatewayRooms,
      pins,
      rssBeforeKb: before,
      rssAfterKb: after,
      bytesPerRoom: ((after - before) * 1024) / pins,
      preloadSeconds: preloadS,
    };
  } finally {
    await sys.stop();
  }
}
