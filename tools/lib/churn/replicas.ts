// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The two-replica scenario, run the same way against every replicated system (replicas.ts for this
// project's gateway, bench/replicated.ts for the peers): players of a room reach the gateway through an
// L4 balancer that alternates replicas, a scale-out happens between a room's first and later players,
// and then a replica restarts (its local state is lost, as in a gateway upgrade).
//   split   rooms whose players reached more than one pod
//   moved   rooms whose later players reached another pod than the first (every pod stays up)
//   dropped open WebSockets closed by a gateway during the scale-out
//   right   later players that reached their room's first pod
import { PodFleet } from "../pods";
import { join, closeAll, mapLimit, Joined } from "../clients";
import { assignment, rooms as roomIds, roomIdOf } from "../players";
import { ReplicatedSystem } from "../replicas";
import { ChurnResult, DropWatch, emptyChurn, measured } from "./result";

/** Two replicas: moved counts rooms whose later players reached another pod than the first (every pod stays up). */
export interface ReplicaResult extends ChurnResult {
  scenario: "two-replicas";
  /** Later players that reached their room's first pod, of `reconnects`. */
  right: number;
  reconnects: number;
}

/** Players join one after another through the balancer, so consecutive players alternate replicas. */
function alternate(port: number, ids: string[], perRoom: number): Promise<Joined[]> {
  return mapLimit(
    ids.flatMap((r) => Array(perRoom).fill(r)),
    1,
    (room) => join(`ws://127.0.0.1:${port}/ws?appId=a1&roomId=${encodeURIComponent(room)}`),
  );
}

export async function runReplicaScenario(system: ReplicatedSystem, o: { rooms: number; podBasePort: number }): Promise<ReplicaResult> {
  const r: ReplicaResult = { ...emptyChurn(system.name, "two-replicas", o.rooms), scenario: "two-replicas", right: 0, reconnects: 0 };
  const pods = new PodFleet(o.podBasePort);
  const ids = roomIds("rep", o.rooms);
  return measured(r, system, pods, async () => {
    await pods.start(3);
    await system.start(pods.endpoints());
    // One player per room, alternating replicas: each replica first sees half the rooms.
    const first = await alternate(system.port, ids, 1);
    const home = new Map(first.map((j) => [roomIdOf(j), j.pod]));
    const watch = new DropWatch(first);
    await pods.start(3);
    await system.setMembers(pods.endpoints());
    // Two more per room, alternating: every room is joined through both replicas after the scale-out.
    const later = await alternate(system.port, ids, 2);
    r.dropped = watch.dropped;
    watch.release(first);
    await closeAll([...first, ...later]);
    // A replica restarts; then two more players per room through both.
    await system.restart(0);
    const after = await alternate(system.port, ids, 2);
    await closeAll(after);
    const everyone = [...first, ...later, ...after];
    r.split = assignment(everyone).split.length;
    const movedRooms = new Set<string>();
    for (const j of [...later, ...after]) {
      r.reconnects++;
      if (home.get(roomIdOf(j)) === j.pod) r.right++;
      else movedRooms.add(roomIdOf(j));
    }
    r.moved = movedRooms.size;
  });
}
