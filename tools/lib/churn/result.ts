// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What every churn scenario reports, whichever engine ran it (settled.ts, live.ts, replicas.ts), and the
// one way sockets the gateway closed are counted.
import { Joined } from "../clients";

/** The figures every churn scenario reports; each engine adds its own (SettledResult, LiveResult, ReplicaResult). */
export interface ChurnResult {
  /** The system under test (this plugin, or a peer of `npm run compare`). */
  system: string;
  scenario: string;
  /** Rooms open before the change. */
  rooms: number;
  /** Rooms whose players reached more than one pod (each engine says when: together, or at one moment). */
  split: number;
  /** Rooms that reached another pod although theirs stayed usable. */
  moved: number;
  /** Open WebSockets on pods that stayed up, closed by the gateway. */
  dropped: number;
  seconds: number;
  error?: string;
}

/** The fields of a ChurnResult before the run: all counts zero. */
export function emptyChurn(system: string, scenario: string, rooms: number): ChurnResult {
  return { system, scenario, rooms, split: 0, moved: 0, dropped: 0, seconds: 0 };
}

/** Counts sockets the gateway closes, as opposed to the ones the scenario closes or whose pod it stops. */
export class DropWatch {
  dropped = 0;
  private ours = new Set<Joined>();
  constructor(
    sockets: Joined[],
    private exempt: (j: Joined) => boolean = () => false,
  ) {
    for (const j of sockets) this.watch(j);
  }
  watch(j: Joined): void {
    j.ws.on("close", () => {
      if (!this.ours.has(j) && !this.exempt(j)) this.dropped++;
    });
  }
  /** From now on, a close of `j` is the scenario's own. */
  release(sockets: Joined[]): void {
    for (const j of sockets) this.ours.add(j);
  }
}

/**
 * Runs a scenario's body against `system` and its `pods`: an error ends the run (after `onError`) and
 * is recorded in the result, the system and the pods always stop, and the result carries the run's
 * duration.
 */
export async function measured<R extends ChurnResult>(
  r: R,
  system: { stop(): Promise<void> },
  pods: { stopAll(): Promise<void> },
  body: () => Promise<void>,
  onError: () => Promise<unknown> = async () => undefined,
): Promise<R> {
  const t0 = Date.now();
  try {
    await body();
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
    await onError();
  } finally {
    await system.stop().catch(() => undefined);
    await pods.stopAll();
    r.seconds = (Date.now() - t0) / 1000;
  }
  return r;
}
