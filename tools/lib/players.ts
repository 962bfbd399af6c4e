// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Players: groups joining rooms through the gateway and what they saw (the pod of each room, any room
// split over several pods), and the live player that keeps its socket and rejoins like a game client.
import WebSocket from "ws";
import { join, mapLimit, Joined, JoinOptions, HttpRejection, ROOM_ELSEWHERE_BODY } from "./clients";
import { sleep } from "./wait";

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

export interface Session {
  pod: string;
  open: number;
  close: number;
  /** Closed by us (end of run or a simulated network switch), not by the gateway or the pod. */
  ours: boolean;
}

/** A client drops a socket it has heard nothing on for this long. */
const SILENT_SOCKET_MS = 3000;

/**
 * A player as game clients behave: joins, keeps its socket alive with a ping every second, drops a
 * socket silent for 3 s, and rejoins `delayMs` after any close or failed attempt until stopped.
 * `blip` is a network switch (the socket drops, the player rejoins, from `localAddress` if given).
 */
export class LivePlayer {
  sessions: Session[] = [];
  failed = 0;
  /** Failed attempts that were the plugin's "room is on another pod" refusal (503 room_affinity_room_elsewhere). */
  refusedElsewhere = 0;
  /** Failed attempts Envoy answered with "no healthy upstream". */
  noHealthyUpstream = 0;
  /** Sockets dropped for silence. */
  silentDrops = 0;
  /** The longest a join attempt waited for its answer (a 101 or a failure), in ms. */
  longestHandshakeMs = 0;
  private ws: WebSocket | null = null;
  private current: Session | null = null;
  private stopped = false;
  private done: Promise<void>;

  constructor(
    public room: string,
    private url: string,
    private delayMs: number,
    private localAddress?: string,
  ) {
    this.done = this.run();
  }

  get connected(): boolean {
    return this.current !== null;
  }
  /** The pod of the open socket, and when it opened, if any. */
  get pod(): string | undefined {
    return this.current?.pod;
  }
  get openedAt(): number | undefined {
    return this.current?.open;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const began = Date.now();
      try {
        const j = await join(this.url, { localAddress: this.localAddress, timeoutMs: 5000 }).finally(() => {
          this.longestHandshakeMs = Math.max(this.longestHandshakeMs, Date.now() - began);
        });
        if (this.stopped) {
          // stop() came while this join was in flight: nobody else would close this socket.
          j.ws.close();
          break;
        }
        const s: Session = { pod: j.pod, open: Date.now(), close: Infinity, ours: false };
        this.sessions.push(s);
        this.ws = j.ws;
        this.current = s;
        // Like game clients: a ping every second, and a socket silent for 3 s is dropped.
        let heard = Date.now();
        j.ws.on("pong", () => (heard = Date.now()));
        const heartbeat = setInterval(() => {
          if (Date.now() - heard > SILENT_SOCKET_MS) {
            this.silentDrops++;
            j.ws.terminate();
          } else if (j.ws.readyState === WebSocket.OPEN) j.ws.ping();
        }, 1000);
        await new Promise<void>((r) => (j.ws.readyState === WebSocket.CLOSED ? r() : j.ws.once("close", () => r())));
        clearInterval(heartbeat);
        s.close = Date.now();
        this.current = null;
        this.ws = null;
      } catch (e) {
        this.failed++;
        if (e instanceof HttpRejection && e.status === 503 && e.body.includes(ROOM_ELSEWHERE_BODY)) this.refusedElsewhere++;
        if (e instanceof HttpRejection && e.status === 503 && e.body.includes("no healthy upstream")) this.noHealthyUpstream++;
      }
      if (!this.stopped) await sleep(this.delayMs);
    }
  }

  /** The player's network changes: it drops its socket and reconnects like any other close, from `newAddress` if given. */
  blip(newAddress?: string): void {
    if (newAddress !== undefined) this.localAddress = newAddress;
    if (this.current) this.current.ours = true;
    this.ws?.close();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.current) this.current.ours = true;
    this.ws?.close();
    await this.done;
  }
}
