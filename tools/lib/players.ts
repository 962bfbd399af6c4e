// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Groups of players joining rooms through the gateway, and what they saw: the pod of each room and
// any room whose players were split over several pods.
import { join, mapLimit, Joined, JoinOptions } from "./clients";

export interface JoinPlan {
  /** Players per room. */
  perRoom: number;
  /** Joins in flight at once; a room's players are adjacent, so they race each other. */
  limit?: number;
  appId?: string;
  /** Source address per player index (127.0.0.x), to look like players on other networks. */
  localAddress?: (i: number) => string;
  options?: JoinOptions;
}

export async function joinRooms(listenPort: number, roomIds: string[], plan: JoinPlan): Promise<Joined[]> {
  const appId = plan.appId ?? "a1";
  const players: string[] = [];
  for (const r of roomIds) for (let p = 0; p < plan.perRoom; p++) players.push(r);
  return mapLimit(players, plan.limit ?? 250, (roomId, i) =>
    join(`ws://127.0.0.1:${listenPort}/ws?appId=${encodeURIComponent(appId)}&roomId=${encodeURIComponent(roomId)}`, {
      ...plan.options,
      localAddress: plan.localAddress?.(i),
    }),
  );
}

export interface Assignment {
  /** roomId -> pod (the first pod seen for the room). */
  pods: Map<string, string>;
  /** "roomId: podA,podB" for each room seen on more than one pod. */
  split: string[];
}

/** The pod greets with "<appId>:<roomId>". */
export function roomIdOf(j: Joined): string {
  return j.room.slice(j.room.indexOf(":") + 1);
}

export function assignment(joined: Joined[]): Assignment {
  const seen = new Map<string, Set<string>>();
  for (const j of joined) {
    const r = roomIdOf(j);
    if (!seen.has(r)) seen.set(r, new Set());
    seen.get(r)!.add(j.pod);
  }
  const pods = new Map<string, string>();
  const split: string[] = [];
  for (const [r, s] of seen) {
    pods.set(r, [...s][0]);
    if (s.size > 1) split.push(`${r}: ${[...s].join(",")}`);
  }
  return { pods, split };
}

/** Rooms whose pod differs between two assignments (rooms missing from `after` are ignored). */
export function moved(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [r, pod] of after) if (before.has(r) && before.get(r) !== pod) out.push(`${r}: ${before.get(r)} -> ${pod}`);
  return out;
}

export function countBy<T>(items: Iterable<T>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[String(i)] = (out[String(i)] ?? 0) + 1;
  return out;
}

export function rooms(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
