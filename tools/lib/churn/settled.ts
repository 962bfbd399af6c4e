// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The churn scenarios, run the same way against any System (system.ts; the peers in bench/systems.ts)
// with the same demo pods and clients: `npm run compare` runs them for every system, the churn tests
// for the plugin. For each run we count:
//   split      rooms whose players reached more than one pod, when they first joined together or
//              when they reconnected after the change
//   moved      rooms whose pod was still usable but that reconnected elsewhere
//   dropped    open WebSockets (on pods that stayed up) closed by the gateway during the change
//   right      reconnecting players that reached the right pod: the room's old pod while it is usable,
//              else the pod most of the room's players reached
import { PodFleet } from "../pods";
import { closeAll, Joined } from "../clients";
import { joinRooms, roomIdOf, rooms as roomIds, assignment, countBy } from "../players";
import { sleep } from "../wait";
import { System, RELOAD_GRACE_S } from "../system";
import { ChurnResult, DropWatch, emptyChurn, measured } from "./result";

/** A settled scenario: players come back after the change has settled. */
export interface SettledResult extends ChurnResult {
  /** Reconnecting players that reached the right pod, of `reconnects`. */
  right: number;
  reconnects: number;
  /** New rooms placed on draining pods (rolling update only). */
  newOnDraining?: number;
  /** Rooms whose pod left in the change (their reconnects had to go elsewhere). */
  orphans: number;
  /** New rooms created after the change, per pod (their players joined together). */
  newRoomsPerPod: Record<string, number>;
  /** Rolling update, after the old pods are gone: old rooms that came back and reached an old pod. */
  oldRoomsOnOldPods?: number;
}

export const SCENARIOS = ["scale-out", "scale-in", "pod-killed", "rolling-update", "new-source-address", "config-reload"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface RunOptions {
  rooms: number;
  players: number;
  podBasePort: number;
  /** Called after the last measurement, before the system stops (tests read the plugin's metrics here). */
  inspect?: (system: System) => Promise<void>;
}

function tally(
  before: Map<string, string>,
  after: Joined[],
  usable: (pod: string) => boolean,
  r: SettledResult,
  splitOnJoin: Set<string>,
): void {
  const byRoom = new Map<string, string[]>();
  for (const j of after) {
    const id = roomIdOf(j);
    if (!byRoom.has(id)) byRoom.set(id, []);
    byRoom.get(id)!.push(j.pod);
  }
  for (const [room, pods] of byRoom) {
    const distinct = new Set(pods);
    if (distinct.size > 1 || splitOnJoin.has(room)) r.split++;
    const old = before.get(room);
    let expected: string;
    if (old !== undefined && usable(old)) {
      expected = old;
      if (pods.some((p) => p !== old)) r.moved++;
    } else {
      const counts = new Map<string, number>();
      for (const p of pods) counts.set(p, (counts.get(p) ?? 0) + 1);
      expected = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    }
    r.right += pods.filter((p) => p === expected).length;
    r.reconnects += pods.length;
  }
}

function assignmentOf(joined: Joined[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const j of joined) if (!m.has(roomIdOf(j))) m.set(roomIdOf(j), j.pod);
  return m;
}

/** A new source address (127.x.y.z) per player, different for every wave. */
function sources(wave: number): (i: number) => string {
  return (i) => `127.${10 + wave}.${(i >> 8) & 255}.${i & 255 || 1}`;
}

export async function runScenario(system: System, scenario: Scenario, o: RunOptions): Promise<SettledResult> {
  const r: SettledResult = {
    ...emptyChurn(system.name, scenario, o.rooms),
    right: 0,
    reconnects: 0,
    orphans: 0,
    newRoomsPerPod: {},
  };
  const pods = new PodFleet(o.podBasePort);
  const ids = roomIds("r", o.rooms);
  const join = (list: string[], wave: number) => joinRooms(system.port, list, { perRoom: o.players, localAddress: sources(wave) });
  return measured(r, system, pods, async () => {
    await pods.start(scenario === "scale-in" ? 6 : 3);
    await system.start(pods.endpoints());
    const open = await join(ids, 0);
    // Where each room is pinned before the change: one more player per room, after the rush.
    const probe = await join(ids, 9);
    const before = assignmentOf(probe);
    const joinedTogether = new Map<string, Set<string>>();
    for (const j of [...open, ...probe]) {
      if (!joinedTogether.has(roomIdOf(j))) joinedTogether.set(roomIdOf(j), new Set());
      joinedTogether.get(roomIdOf(j))!.add(j.pod);
    }
    const splitOnJoin = new Set([...joinedTogether].filter(([, s]) => s.size > 1).map(([r]) => r));
    await closeAll(probe);
    const alive = new Set(pods.pods.map((p) => p.id));
    const watch = new DropWatch(open, (j) => !alive.has(j.pod));
    const usable = (pod: string) => alive.has(pod);
    /** New rooms after the change, players together: counted per pod, and as split rooms. */
    const newRooms = async (wave: number): Promise<Joined[]> => {
      const fresh = await join(roomIds("new", o.rooms), wave);
      const a = assignment(fresh);
      r.split += a.split.length;
      r.newRoomsPerPod = countBy(a.pods.values());
      return fresh;
    };

    switch (scenario) {
      case "scale-out":
        await pods.start(3);
        await system.setMembers(pods.endpoints());
        break;
      case "scale-in": {
        const victims = pods.pods.slice(3);
        for (const p of victims) pods.setState(p.id, "stopped");
        await system.setMembers(pods.endpoints());
        for (const p of victims) alive.delete(p.id);
        await Promise.all(victims.map((p) => p.kill("SIGTERM")));
        break;
      }
      case "pod-killed": {
        const victim = pods.pods[1];
        alive.delete(victim.id);
        await victim.kill("SIGKILL");
        pods.setState(victim.id, "stopped"); // Kubernetes notices and removes the endpoint
        await system.setMembers(pods.endpoints());
        break;
      }
      case "rolling-update": {
        const old = [...pods.pods];
        await pods.start(3, "v2");
        for (const p of old) pods.setState(p.id, "draining");
        await system.setMembers(pods.endpoints());
        // Old rooms reconnect while their games still run: they belong on their (draining) old pods.
        await sleep((RELOAD_GRACE_S + 1) * 1000);
        const rejoin = await join(ids, 1);
        tally(before, rejoin, usable, r, splitOnJoin);
        // New rooms must only land on new pods.
        const fresh = await newRooms(2);
        r.newOnDraining = new Set(fresh.filter((j) => !j.pod.startsWith("v2-")).map((j) => roomIdOf(j))).size;
        r.dropped = watch.dropped;
        await closeAll([...rejoin, ...fresh]);
        watch.release(open);
        await closeAll(open);
        // The old games end and the old pods go away: old rooms that come back re-pin, each to one new pod.
        for (const p of old) {
          pods.setState(p.id, "stopped");
          alive.delete(p.id);
        }
        await system.setMembers(pods.endpoints());
        await Promise.all(old.map((p) => p.kill("SIGTERM")));
        const back = await join(ids, 3);
        const after = assignment(back);
        r.split += after.split.length;
        r.oldRoomsOnOldPods = [...after.pods.values()].filter((pod) => !pod.startsWith("v2-")).length;
        await closeAll(back);
        break;
      }
      case "new-source-address":
        break;
      case "config-reload":
        await system.reload();
        await system.reload();
        break;
    }
    if (scenario !== "rolling-update") {
      // Give reload-surviving sockets the time the gateway would let them live, then count drops.
      await sleep((RELOAD_GRACE_S + 1) * 1000);
      r.dropped = watch.dropped;
      watch.release(open);
      await closeAll(open);
      const again = await join(ids, 1);
      tally(before, again, usable, r, splitOnJoin);
      await closeAll(again);
      await closeAll(await newRooms(2));
    }
    r.orphans = [...before.values()].filter((pod) => !usable(pod)).length;
    if (o.inspect) await o.inspect(system);
  });
}
