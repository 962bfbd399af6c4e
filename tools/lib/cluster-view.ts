// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The trial's cluster as its console shows it, read from the parts themselves: each pod's own rooms
// (GET /rooms), the gateways' plugin counters (admin /stats), the directory's state and the built-in
// players. A room whose players are on two live pods at once is split.
import type { TrialControl } from "./control";
import type { PlayersSummary } from "./trial-players";
import type { ClusterView, PodView, PodState } from "./cluster-view-types";
import { stats } from "./envoy";

export type { ClusterView, PodView };

const PREFIX = "room_affinity.";
/** A pod's rooms are read only while its process can answer. */
const ANSWERING: PodState[] = ["serving", "draining", "removed"];

export async function readClusterView(control: TrialControl, players: PlayersSummary | null): Promise<ClusterView> {
  const pods = await Promise.all(
    control.fleet.pods.map(async (p): Promise<PodView> => {
      const state = control.fleet.state(p.id)!;
      const view: PodView = { id: p.id, address: p.address, state, rooms: {}, players: 0 };
      if (!ANSWERING.includes(state)) return view;
      try {
        const s = await p.stats();
        view.rooms = s.rooms;
        view.players = s.players;
      } catch {
        // Not answering (it is stopping): no rooms to show.
      }
      return view;
    }),
  );
  const podsOf = new Map<string, string[]>();
  for (const p of pods) for (const room of Object.keys(p.rooms)) podsOf.set(room, [...(podsOf.get(room) ?? []), p.id]);
  const splitRooms = [...podsOf].filter(([, on]) => on.length > 1).map(([room, on]) => ({ room, pods: on }));
  const gateways = control.listGateways();
  const sums: Record<string, number> = {};
  await Promise.all(
    control.gateways.map(async (gw, i) => {
      if (gateways[i].state !== "running") return;
      try {
        for (const [name, v] of await stats(gw.adminPort, "room_affinity\\.")) {
          // Envoy names them wasmcustom.room_affinity.<name>; clusters named room_affinity_* are not the plugin's.
          const at = name.indexOf(PREFIX);
          if (at !== 0 && name[at - 1] !== ".") continue;
          const short = name.slice(at + PREFIX.length);
          sums[short] = (sums[short] ?? 0) + v;
        }
      } catch {
        // A replica between exit and restart: its counters come back with it.
      }
    }),
  );
  const etcd = control.etcd;
  return {
    at: Date.now(),
    pods,
    splitRooms,
    gateways,
    directory: etcd === null ? "none" : etcd.running && !etcd.frozen ? "up" : "down",
    stats: sums,
    players,
  };
}
