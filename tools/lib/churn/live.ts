// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Churn as players live it: nobody waits for the gateway to settle. Every player reconnects about
// 50 ms after its socket closes (so the players of a room whose pod died come back together, in
// lockstep), new rooms open every 10 ms during the change with their players joining together, and the
// change itself is applied in the order Kubernetes applies it (a crashed pod's endpoint goes minutes
// later, a scaled-in pod may stop before its endpoint is withdrawn). Run against any System
// (system.ts; the peers in bench/systems.ts), by the churn tests and by `npm run compare`.
//
// A room is split when two of its players were connected to different pods at the same moment (a
// socket to a pod counts until it closes or the pod dies). That is the harm players see, and it needs
// no waiting: it is measured over every connection made during the run.
import { PodFleet, PodProcess } from "../pods";
import { sleep } from "../wait";
import { System } from "../system";
import { LivePlayer, Session } from "../players";
import { ChurnResult, emptyChurn, measured } from "./result";
import { PacketDrop } from "../packet-drop";

export const LIVE_SCENARIOS = ["pod-killed", "scale-in", "endpoint-removed", "drain", "rolling-update"] as const;
/**
 * Failures Kubernetes is slow to notice, where the pod's endpoint stays listed for the whole run:
 * a crash (connections refused), a hung server (connections accepted, never answered; its players'
 * sockets go silent, and clients drop a socket silent for 3 s), a lost node (every packet dropped:
 * connects time out, sockets go silent), and a crash loop (the pod comes back empty on its address
 * 1.5 s after the crash).
 */
export const LISTED_FAILURE_SCENARIOS = ["pod-killed-listed", "pod-hung", "node-lost", "crash-loop"] as const;
export type LiveScenario = (typeof LIVE_SCENARIOS)[number] | (typeof LISTED_FAILURE_SCENARIOS)[number];

export interface LiveOptions {
  /** Rooms open before the change, and players in each. */
  rooms: number;
  players: number;
  podBasePort: number;
  /** A closed player reconnects after this long (default 50 ms). */
  reconnectDelayMs?: number;
  /** A new room opens this often during the change (default 10 ms), with this many players (default 3). */
  newRoomEveryMs?: number;
  newRoomPlayers?: number;
  /** How long new rooms keep opening once the change starts (default 2,500 ms). */
  changeWindowMs?: number;
}

/** A live scenario: split counts rooms (old or new) whose players were on two pods at the same moment. */
export interface LiveResult extends ChurnResult {
  scenario: LiveScenario;
  newRooms: number;
  /** Join attempts that failed (the player retried 50 ms later). */
  failedJoins: number;
  /** Of those, the ones the plugin refused because the player's room was just recorded on another pod. */
  refusedElsewhere: number;
  /** Of those refusals, the ones of players of rooms opened during the change (the rest came back to a room). */
  refusedNewRoom: number;
  /** Of those, the ones Envoy answered "no healthy upstream" (new pods not yet through their first health check). */
  noHealthyUpstream: number;
  /** Sockets the players dropped because they heard nothing on them for 3 s. */
  silentDrops: number;
  /** The longest any join attempt waited for its answer (a 101 or a failure), in ms. */
  longestHandshakeMs: number;
  /** Successful joins during the run, after the first wave. */
  joins: number;
  /** Players still not connected when the run ended. */
  unconnected: number;
  /** New rooms opened after the change was in force that landed on a draining pod (drain, rolling update). */
  newOnDraining?: number;
  /** Up to five split rooms, "room: pod@ms-ms pod@ms-ms", to read in a failure message. */
  examples: string[];
  /**
   * Rooms that were on a pod that died (killed, hung, cut off): for each, how long until all its players
   * were connected again on one live pod, from the death; and the longest any of its players took to be
   * back after its own socket there closed (what the gateway adds to a client's reconnect).
   */
  regroupMs: number[];
  regroupFromCloseMs: number[];
  /** Of those rooms, the ones whose players were not all together again on one pod by the end of the run. */
  notRegrouped: number;
}

/**
 * For each room on a pod that died: when every player that was on it had a socket open again on one
 * live pod (ms after the death), and the longest a player of it took from its socket's close to that.
 */
function regroupTimes(byRoom: Map<string, LivePlayer[]>, deadAt: Map<string, number>, r: LiveResult): void {
  for (const players of byRoom.values()) {
    let died = -1;
    let slowest = 0;
    let back = -Infinity;
    const podsAfter = new Set<string>();
    let everyone = true;
    for (const p of players) {
      const onDead = p.sessions.find((s) => deadAt.has(s.pod) && s.open < deadAt.get(s.pod)! && s.close >= deadAt.get(s.pod)!);
      if (!onDead) continue;
      died = deadAt.get(onDead.pod)!;
      const next = p.sessions.find((s) => s.open > died && !deadAt.has(s.pod));
      if (!next) everyone = false;
      else {
        back = Math.max(back, next.open);
        slowest = Math.max(slowest, next.open - onDead.close);
        podsAfter.add(next.pod);
      }
    }
    if (died < 0) continue;
    if (!everyone || podsAfter.size !== 1) {
      r.notRegrouped++;
      continue;
    }
    r.regroupMs.push(back - died);
    r.regroupFromCloseMs.push(slowest);
  }
}

/** p50, p99 and max of `xs`, "-" if empty. */
export function percentiles(xs: number[]): string {
  if (xs.length === 0) return "-";
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return `${at(0.5)}/${at(0.99)}/${s[s.length - 1]} ms`;
}

/**
 * Rooms whose players overlapped in time on different pods. A socket on a pod that died ends at the
 * death, unless it opened after the pod came back (`backAt`, a crash loop). A socket the client saw open
 * just after the death was accepted before it: it ends at the death too.
 */
export function splitRooms(
  byRoom: Map<string, { sessions: Session[] }[]>,
  deadAt: Map<string, number>,
  backAt: Map<string, number> = new Map(),
): string[] {
  const out: string[] = [];
  for (const [room, players] of byRoom) {
    const spans = players
      .flatMap((p) => p.sessions)
      .map((s) => {
        const died = deadAt.get(s.pod);
        const back = backAt.get(s.pod);
        const whole = died === undefined || (back !== undefined && s.open >= back);
        return { pod: s.pod, open: s.open, end: whole ? s.close : Math.min(s.close, died) };
      })
      .filter((s) => s.end > s.open);
    let clash: string | null = null;
    for (let i = 0; i < spans.length && !clash; i++) {
      for (let j = i + 1; j < spans.length && !clash; j++) {
        const a = spans[i],
          b = spans[j];
        if (a.pod !== b.pod && a.open < b.end && b.open < a.end)
          clash = `${room}: ${a.pod}@${a.open % 100000}-${a.end % 100000} ${b.pod}@${b.open % 100000}-${b.end % 100000}`;
      }
    }
    if (clash) out.push(clash);
  }
  return out;
}

function firstPod(players: LivePlayer[]): string | undefined {
  let best: Session | undefined;
  for (const p of players) for (const s of p.sessions) if (!best || s.open < best.open) best = s;
  return best?.pod;
}

export async function runLiveScenario(system: System, scenario: LiveScenario, o: LiveOptions): Promise<LiveResult> {
  const r: LiveResult = {
    ...emptyChurn(system.name, scenario, o.rooms),
    scenario,
    newRooms: 0,
    failedJoins: 0,
    refusedElsewhere: 0,
    refusedNewRoom: 0,
    noHealthyUpstream: 0,
    silentDrops: 0,
    longestHandshakeMs: 0,
    joins: 0,
    unconnected: 0,
    examples: [],
    regroupMs: [],
    regroupFromCloseMs: [],
    notRegrouped: 0,
  };
  const delay = o.reconnectDelayMs ?? 50;
  const pods = new PodFleet(o.podBasePort);
  const deadAt = new Map<string, number>();
  const backAt = new Map<string, number>();
  const byRoom = new Map<string, LivePlayer[]>();
  const all: LivePlayer[] = [];
  let sourceIndex = 0;
  const addRoom = (room: string, n: number) => {
    const list: LivePlayer[] = [];
    for (let i = 0; i < n; i++) {
      const k = sourceIndex++;
      // Each player from its own address, as players on other networks.
      const p = new LivePlayer(
        room,
        `ws://127.0.0.1:${system.port}/ws?appId=a1&roomId=${room}`,
        delay,
        `127.${20 + ((k >> 16) & 15)}.${(k >> 8) & 255}.${k & 255 || 1}`,
      );
      list.push(p);
      all.push(p);
    }
    byRoom.set(room, list);
  };
  let lostNode: PacketDrop | null = null;
  const stop = async (victims: PodProcess[], signal: NodeJS.Signals) => {
    for (const v of victims) deadAt.set(v.id, Date.now());
    await Promise.all(victims.map((v) => v.kill(signal)));
  };
  return measured(
    r,
    system,
    pods,
    async () => {
      await pods.start(scenario === "scale-in" ? 5 : scenario === "drain" ? 4 : 3);
      await system.start(pods.endpoints());
      for (let i = 0; i < o.rooms; i++) addRoom(`live${i}`, o.players);
      const deadline = Date.now() + 20000;
      while (all.some((p) => !p.connected) && Date.now() < deadline) await sleep(50);
      const before = new Map<string, string>();
      for (const [room, players] of byRoom) before.set(room, firstPod(players) ?? "");
      const firstJoins = all.reduce((n, p) => n + p.sessions.length, 0);

      // New rooms open during the whole change; their players join together.
      let opening = true;
      let inForceAt = Infinity;
      const newRoomOpenedAt = new Map<string, number>();
      const opener = (async () => {
        for (let i = 0; opening; i++) {
          const room = `fresh${i}`;
          newRoomOpenedAt.set(room, Date.now());
          addRoom(room, o.newRoomPlayers ?? 3);
          r.newRooms++;
          await sleep(o.newRoomEveryMs ?? 10);
        }
      })();
      const window = sleep(o.changeWindowMs ?? 2500).then(() => {
        opening = false;
      });
      const drainingPods = new Set<string>();

      switch (scenario) {
        case "pod-killed": {
          // A crash: the gateway's health check notices; the endpoint goes when Kubernetes notices, later.
          const victim = pods.pods[1];
          await stop([victim], "SIGKILL");
          pods.setState(victim.id, "killed");
          await sleep(2000);
          pods.setState(victim.id, "stopped");
          await system.setMembers(pods.endpoints());
          break;
        }
        case "pod-killed-listed": {
          // A crash Kubernetes has not noticed: the endpoint stays listed until the run ends.
          const victim = pods.pods[1];
          await stop([victim], "SIGKILL");
          pods.setState(victim.id, "killed");
          break;
        }
        case "pod-hung": {
          // A hung server: its connections are accepted and never answered; the endpoint stays listed.
          const victim = pods.pods[1];
          deadAt.set(victim.id, Date.now());
          victim.proc.kill("SIGSTOP");
          pods.setState(victim.id, "killed");
          break;
        }
        case "node-lost": {
          // The pod's node is cut off: packets to and from it are dropped; the endpoint stays listed.
          const victim = pods.pods[1];
          deadAt.set(victim.id, Date.now());
          lostNode = await PacketDrop.start(victim.port);
          pods.setState(victim.id, "killed");
          break;
        }
        case "crash-loop": {
          // The container crashes and Kubernetes restarts it in place: empty, same address, still listed.
          const victim = pods.pods[1];
          await stop([victim], "SIGKILL");
          pods.setState(victim.id, "killed");
          await sleep(1500);
          await pods.restart(victim.id);
          backAt.set(victim.id, Date.now());
          break;
        }
        case "scale-in": {
          // The pods stop first; the endpoints are withdrawn a moment later.
          const victims = pods.pods.slice(3);
          await stop(victims, "SIGTERM");
          for (const v of victims) pods.setState(v.id, "stopped");
          await sleep(300);
          await system.setMembers(pods.endpoints());
          break;
        }
        case "endpoint-removed": {
          // The endpoint is withdrawn first; the pod shuts down a second later, closing its sockets.
          const victim = pods.pods[2];
          pods.setState(victim.id, "stopped");
          await system.setMembers(pods.endpoints());
          await sleep(1000);
          await stop([victim], "SIGTERM");
          break;
        }
        case "drain": {
          // Two pods drain while a third of the rooms' players change networks and come back at once.
          for (const p of pods.pods.slice(2)) {
            pods.setState(p.id, "draining");
            drainingPods.add(p.id);
          }
          const applied = system.setMembers(pods.endpoints()).then(() => {
            inForceAt = Date.now();
          });
          let n = 0;
          for (const players of byRoom.values()) if (n++ % 3 === 0 && players.length === o.players) for (const p of players) p.blip();
          await applied;
          break;
        }
        case "rolling-update": {
          // New pods come up, old ones drain (their rooms finish there), then the old ones stop at once.
          const old = [...pods.pods];
          await pods.start(3, "v2");
          for (const p of old) {
            pods.setState(p.id, "draining");
            drainingPods.add(p.id);
          }
          await system.setMembers(pods.endpoints());
          inForceAt = Date.now();
          await sleep(1500);
          await stop(old, "SIGTERM");
          for (const p of old) pods.setState(p.id, "stopped");
          await system.setMembers(pods.endpoints());
          break;
        }
      }
      await window;
      await opener;
      // Everyone back (or given up on), then hold a moment so late reconnects are seen.
      // A player still on a pod that died only learns of it from its heartbeat: give it that long.
      const back = Date.now() + 10000;
      const away = (p: LivePlayer) => !p.connected || (p.openedAt ?? 0) < (deadAt.get(p.pod ?? "") ?? 0);
      while (all.some(away) && Date.now() < back) await sleep(50);
      await sleep(300);
      r.unconnected = all.filter((p) => !p.connected).length;
      await Promise.all(all.map((p) => p.stop()));
      await lostNode?.stop();

      regroupTimes(byRoom, deadAt, r);
      const split = splitRooms(byRoom, deadAt, backAt);
      r.split = split.length;
      r.examples = split.slice(0, 5);
      for (const [room, pod] of before) {
        if (deadAt.has(pod) || pod === "") continue;
        if ((byRoom.get(room) ?? []).some((p) => p.sessions.some((s) => s.pod !== pod))) r.moved++;
      }
      for (const p of all) {
        r.failedJoins += p.failed;
        r.refusedElsewhere += p.refusedElsewhere;
        if (newRoomOpenedAt.has(p.room)) r.refusedNewRoom += p.refusedElsewhere;
        r.noHealthyUpstream += p.noHealthyUpstream;
        r.silentDrops += p.silentDrops;
        r.longestHandshakeMs = Math.max(r.longestHandshakeMs, p.longestHandshakeMs);
        for (const s of p.sessions) if (!s.ours && s.close !== Infinity && !deadAt.has(s.pod)) r.dropped++;
      }
      r.joins = all.reduce((n, p) => n + p.sessions.length, 0) - firstJoins;
      if (drainingPods.size > 0) {
        let onDraining = 0;
        for (const [room, at] of newRoomOpenedAt) {
          if (at < inForceAt) continue;
          const pod = firstPod(byRoom.get(room)!);
          if (pod && drainingPods.has(pod)) onDraining++;
        }
        r.newOnDraining = onDraining;
      }
    },
    // A failed run stops its players too, and lets a lost node's packets through again.
    () => Promise.all([...all.map((p) => p.stop().catch(() => undefined)), lostNode?.stop()]),
  );
}

/** One line per run for logs and reports. */
export function describeLive(r: LiveResult): string {
  return (
    `${r.system} ${r.scenario}: split ${r.split}, moved ${r.moved}, dropped ${r.dropped}, failed joins ${r.failedJoins} (${r.refusedElsewhere} room elsewhere, ${r.refusedNewRoom} of them new rooms, ${r.noHealthyUpstream} no healthy upstream), silent sockets dropped ${r.silentDrops}, longest handshake ${r.longestHandshakeMs} ms, ` +
    `joins ${r.joins}, new rooms ${r.newRooms}${r.newOnDraining !== undefined ? `, new on draining ${r.newOnDraining}` : ""}, ` +
    `unconnected ${r.unconnected}` +
    (r.regroupMs.length + r.notRegrouped > 0
      ? `, dead pod's rooms together again (p50/p99/max) ${percentiles(r.regroupMs)} after the death, ${percentiles(r.regroupFromCloseMs)} from a player's close to its rejoin${r.notRegrouped ? `, ${r.notRegrouped} not together` : ""}`
      : "") +
    `, ${r.seconds.toFixed(1)} s${r.error ? `, error ${r.error}` : ""}`
  );
}
