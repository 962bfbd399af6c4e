// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Players the trial runs for a person watching its console: rooms of players that behave like game
// clients (LivePlayer: they rejoin at once when their socket closes), some of them switching network
// now and then (they drop their socket and rejoin from another source address).
import { LivePlayer } from "./players";
import type { PlayersSummary } from "./cluster-view-types";

export type { PlayersSummary };

export interface StartPlayers {
  rooms: number;
  players: number;
  /** One player in this many switches network every `switchEveryMs` (0: nobody switches). */
  switchOneIn?: number;
  switchEveryMs?: number;
}

export class TrialPlayers {
  private players: LivePlayer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private switches = 0;
  private batch = 0;
  private sourceIndex = 0;

  /** `url(room)`: where a player of `room` connects (the trial's listener or balancer). */
  constructor(private url: (room: string) => string) {}

  /** Starts `rooms` new rooms of `players` players each (room ids t<batch>-<n>), beside any running. */
  start(o: StartPlayers): string[] {
    if (!Number.isInteger(o.rooms) || o.rooms < 1 || o.rooms > 500) throw new RangeError("rooms must be an integer from 1 to 500");
    if (!Number.isInteger(o.players) || o.players < 1 || o.players > 20) throw new RangeError("players must be an integer from 1 to 20");
    if (this.players.length + o.rooms * o.players > 4000) throw new RangeError("at most 4000 players at once");
    this.batch++;
    const ids: string[] = [];
    for (let r = 0; r < o.rooms; r++) {
      const room = `t${this.batch}-${r + 1}`;
      ids.push(room);
      for (let p = 0; p < o.players; p++) this.players.push(new LivePlayer(room, this.url(room), 50, this.nextSource()));
    }
    const oneIn = o.switchOneIn ?? 10;
    const every = o.switchEveryMs ?? 2000;
    if (this.timer) clearInterval(this.timer);
    if (oneIn > 0 && every > 0) {
      this.timer = setInterval(() => {
        for (const p of this.players) {
          if (Math.random() * oneIn < 1 && p.connected) {
            p.blip(this.nextSource());
            this.switches++;
          }
        }
      }, every);
    }
    return ids;
  }

  /** Stops every player (their sockets close); returns how many there were. */
  async stop(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const all = this.players;
    this.players = [];
    await Promise.all(all.map((p) => p.stop()));
    return all.length;
  }

  summary(): PlayersSummary {
    const rooms = new Set(this.players.map((p) => p.room));
    return {
      rooms: rooms.size,
      players: this.players.length,
      connected: this.players.filter((p) => p.connected).length,
      failedJoins: this.players.reduce((n, p) => n + p.failed, 0),
      switches: this.switches,
    };
  }

  /** A source address per player (127.x.y.z), a new one on every network switch. */
  private nextSource(): string {
    const k = this.sourceIndex++;
    return `127.${40 + ((k >> 16) & 15)}.${(k >> 8) & 255}.${k & 255 || 1}`;
  }
}
