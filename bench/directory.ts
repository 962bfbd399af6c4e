// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { sleep } from "../tools/lib/wait";
import { startReplicas } from "../tools/lib/replicas";
import { Options, percentile, handshake, load } from "./common";

/**
 * What the directory costs a join: a room this replica does not know (a directory round trip before the
 * upgrade goes on) against a local hit, measured pairwise (miss, then hit, of the same room, through the
 * same replica) so noise hits both alike; and directory requests per join under a steady load of joins
 * of known rooms (expected: about one refresh per room per replica per refresh interval, not one per join).
 */
export async function directoryBench(o: Options) {
  const refreshSeconds = 5;
  const set = await startReplicas({ name: "bench-directory", basePort: 23200, directoryConfig: { refreshSeconds } });
  try {
    const [gwA, gwB] = set.gateways;
    const rooms = o.smoke ? 40 : 600;
    const missMs: number[] = [];
    const hitMs: number[] = [];
    // Rooms placed through replica B (so they are in the directory), then joined through replica A.
    for (let i = 0; i < rooms; i++) await handshake(gwB.port, `/ws?appId=dir&roomId=r${i}`);
    for (let i = 0; i < rooms; i++) {
      missMs.push(await handshake(gwA.port, `/ws?appId=dir&roomId=r${i}`));
      hitMs.push(await handshake(gwA.port, `/ws?appId=dir&roomId=r${i}`));
    }
    missMs.sort((a, b) => a - b);
    hitMs.sort((a, b) => a - b);
    const found = await gwA.stat("directory.found_total");
    // Steady load: joins of a pool of known rooms through the balancer for a while.
    const pool = o.smoke ? 50 : 500;
    for (let i = 0; i < pool; i++) await handshake(set.port, `/ws?appId=steady&roomId=s${i}`);
    await sleep(1500);
    const before = { waits: await set.stat("directory.waits_total"), writes: await set.stat("directory.writes_total") };
    const seconds = o.smoke ? 3 : 20;
    const steady = await load(set.port, seconds, o.concurrency, pool, "s");
    const requests = (await set.stat("directory.waits_total")) - before.waits + (await set.stat("directory.writes_total")) - before.writes;
    return {
      rooms,
      refreshSeconds,
      found,
      missP50: percentile(missMs, 50),
      missP99: percentile(missMs, 99),
      hitP50: percentile(hitMs, 50),
      hitP99: percentile(hitMs, 99),
      steadySeconds: seconds,
      steadyRooms: pool,
      steadyJoins: steady.handshakes,
      directoryRequests: requests,
      requestsPerJoin: requests / Math.max(1, steady.handshakes),
      // Each replica looks a room up once (the first time it sees it), then refreshes it once per interval.
      expectedBound: (pool * set.gateways.length * (Math.ceil(seconds / refreshSeconds) + 1)) / Math.max(1, steady.handshakes),
    };
  } finally {
    await set.close();
  }
}
