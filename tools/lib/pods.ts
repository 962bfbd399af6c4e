// Demo pods as separate processes (so one can be SIGKILLed like a crashed pod).
import { spawn, ChildProcess } from "node:child_process";
import { POD_SCRIPT } from "./paths";
import { httpGet, waitFor } from "./envoy";
import type { PodStats } from "../pod";

export interface PodProcess {
  id: string;
  host: string;
  port: number;
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
  await waitFor(`pod ${id} on ${host}:${port}`, async () => {
    if (dead) throw new Error(`pod ${id} exited (code ${proc.exitCode})`);
    return (await pod.stats()).pod === id;
  }, 10000, 50);
  return pod;
}

export async function startPods(count: number, basePort: number, prefix = "pod"): Promise<PodProcess[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startPodProcess(`${prefix}-${i + 1}`, basePort + i)));
}
