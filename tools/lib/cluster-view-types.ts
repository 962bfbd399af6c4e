// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The cluster as the trial's console shows it: types only, shared by the control server
// (cluster-view.ts) and the page (console/console.ts), which must not import Node code.

export type PodState = "serving" | "draining" | "removed" | "stopped" | "killed";

export interface GatewayInfo {
  id: string;
  listen: string;
  admin: string;
  state: "running" | "restarting" | "stopped";
}

export interface PlayersSummary {
  rooms: number;
  players: number;
  connected: number;
  /** Join attempts that failed, since the players started. */
  failedJoins: number;
  /** Network switches made so far. */
  switches: number;
}

export interface PodView {
  id: string;
  address: string;
  state: PodState;
  /** Room -> players on this pod, as the pod itself reports (empty for a pod that does not answer). */
  rooms: Record<string, number>;
  players: number;
}

export interface ClusterView {
  /** When the view was read (ms since the epoch). */
  at: number;
  pods: PodView[];
  /** Rooms whose players are on more than one pod, with those pods. */
  splitRooms: { room: string; pods: string[] }[];
  gateways: GatewayInfo[];
  /** The room directory of a replica trial: up, down, or none (one gateway). */
  directory: "up" | "down" | "none";
  /** The plugin's counters and gauges, summed over the gateway replicas, named without the room_affinity. prefix. */
  stats: Record<string, number>;
  players: PlayersSummary | null;
}
