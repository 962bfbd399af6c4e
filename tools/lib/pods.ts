// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Demo pods as separate processes (so one can be SIGKILLed like a crashed pod), and the fleet: the
// one registry of pods and their states that the trial, the tests and the benchmarks drive, and
// from which the endpoints a control plane would publish are derived.
import { spawn, ChildProcess } from "node:child_process";
import { POD_SCRIPT } from "./paths";
import { httpGet } from "./http";
import { waitFor } from "./wait";
import type { Endpoint } from "./envoy-config";
import type { PodStats } from "../pod";

export interface PodProcess {
  id: string;
  host: string;
  port: number;
  address: string;
  proc: ChildProcess;
  stats(): Promise<PodStats>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startPodProcess(id: string, port: number, host = "127.0.0.1"): Promise<PodProcess> {
  const proc = spawn(process.execPath, [POD_SCRIPT, "--id", id, "--port", String(port), "--host", host], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((r) => proc.on("exit", () => r()));
  const pod: PodProcess = {
    id,
    host,
    port,
    address: `${host}:${port}`,
    proc,
    stats: async () => JSON.parse((await httpGet(host, port, "/rooms")).body) as PodStats,
    kill: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        await exited;
      }
    },
  };
  let dead = false;
  exited.then(() => (dead = true));
  await waitFor(
    `pod ${id} on ${host}:${port}`,
    async () => {
      if (dead) throw new Error(`pod ${id} exited (code ${proc.exitCode})`);
      return (await pod.stats()).pod === id;
    },
    10000,
    50,
  );
  return pod;
}

/** serving: in endpoints, healthy. draining: in endpoints as DRAINING (keeps its rooms, gets no new ones).
 *  removed: out of the endpoints but still running (its open sockets live on). stopped: gone (SIGTERM).
 *  killed: crashed (SIGKILL); its endpoint stays until removed, as with a pod Kubernetes has not noticed yet. */
import type { PodState } from "./cluster-view-types";
export type { PodState };

/** What Envoy shows for a host once it caught up (the plugin's view follows). */
export type ExpectedHostState = "healthy" | "draining" | "unhealthy";

export class PodFleet {
  readonly pods: PodProcess[] = [];
  private readonly states = new Map<string, PodState>();
  private readonly counters = new Map<string, number>();
  private nextPort: number;

  /** `activeHealthChecks`: whether the gateway health-checks pods (then a killed pod shows unhealthy). */
  constructor(
    basePort: number,
    private readonly activeHealthChecks = true,
  ) {
    this.nextPort = basePort;
  }

  /** Starts `count` pods named `<prefix>-<n>` (serving), on the next free ports. */
  async start(count: number, prefix = "pod"): Promise<PodProcess[]> {
    const plan = Array.from({ length: count }, () => {
      const n = (this.counters.get(prefix) ?? 0) + 1;
      this.counters.set(prefix, n);
      return { id: `${prefix}-${n}`, port: this.nextPort++ };
    });
    const started = await Promise.all(plan.map((p) => startPodProcess(p.id, p.port)));
    for (const p of started) {
      this.pods.push(p);
      this.states.set(p.id, "serving");
    }
    return started;
  }

  /** Starts a pod again on its own address, empty (a crash loop, or a restart after a stop), and serving. */
  async restart(id: string): Promise<PodProcess> {
    const i = this.pods.findIndex((p) => p.id === id);
    if (i < 0) throw new Error(`no pod ${id}`);
    const old = this.pods[i];
    await old.kill("SIGKILL");
    const fresh = await startPodProcess(old.id, old.port, old.host);
    this.pods[i] = fresh;
    this.states.set(id, "serving");
    return fresh;
  }

  get(id: string): PodProcess | undefined {
    return this.pods.find((p) => p.id === id);
  }

  state(id: string): PodState | undefined {
    return this.states.get(id);
  }

  setState(id: string, state: PodState): void {
    this.states.set(id, state);
  }

  inState(...states: PodState[]): PodProcess[] {
    return this.pods.filter((p) => states.includes(this.states.get(p.id)!));
  }

  /** The endpoints a control plane would publish: serving and killed (not noticed yet) pods, draining ones as DRAINING. */
  endpoints(): Endpoint[] {
    const list: Endpoint[] = [];
    for (const p of this.pods) {
      const s = this.states.get(p.id);
      if (s === "serving" || s === "killed") list.push({ host: p.host, port: p.port });
      else if (s === "draining") list.push({ host: p.host, port: p.port, health: "DRAINING" });
    }
    return list;
  }

  /** What Envoy should show once it caught up: address -> state (removed and stopped pods absent). */
  expectedView(): Record<string, ExpectedHostState> {
    const view: Record<string, ExpectedHostState> = {};
    for (const p of this.pods) {
      const s = this.states.get(p.id);
      if (s === "serving") view[p.address] = "healthy";
      else if (s === "draining") view[p.address] = "draining";
      else if (s === "killed") view[p.address] = this.activeHealthChecks ? "unhealthy" : "healthy";
    }
    return view;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.kill("SIGKILL")));
  }
}

/** The view Envoy shows for a list of published endpoints (all up): healthy, or draining. */
export function viewOf(endpoints: Endpoint[]): Record<string, ExpectedHostState> {
  return Object.fromEntries(endpoints.map((e) => [`${e.host}:${e.port}`, e.health === "DRAINING" ? "draining" : "healthy"]));
}
