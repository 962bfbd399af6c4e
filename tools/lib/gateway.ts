// A running gateway: real Envoy with the plugin in front of demo pods, plus the operations the trial
// and the tests perform on it (wait for membership, push plugin config by ECDS, read metrics).
import fs from "node:fs";
import path from "node:path";
import { Layout, Endpoint, writeAtomic, extensionConfig, endpoints, listeners, CLUSTER } from "./envoy-config";
import { startEnvoy, EnvoyProcess, pluginStat, stats, waitFor, httpGet } from "./envoy";
import { startPods, PodProcess } from "./pods";
import { WASM_ENVOY, scratchDir } from "./paths";
import { toYaml } from "./yaml";

interface AdminHost {
  address: { socket_address: { address: string; port_value: number } };
  health_status?: { eds_health_status?: string; failed_active_health_check?: boolean; failed_outlier_check?: boolean; pending_dynamic_removal?: boolean };
}

export interface EnvoyHost {
  address: string;
  state: "healthy" | "draining" | "unhealthy" | "removing";
}

export interface GatewayOptions {
  name: string;
  listenPort: number;
  adminPort: number;
  podBasePort: number;
  podCount?: number;
  pluginConfig?: object | string;
  concurrency?: number;
  listenHost?: string;
  dir?: string;
  /** Extra layout settings (LDS mode, inline filter config, ...). */
  layout?: Partial<Layout>;
}

export class Gateway {
  constructor(public envoy: EnvoyProcess, public pods: PodProcess[], public layout: Layout) {}

  url(appId: string, roomId: string, pathname = "/ws"): string {
    return `ws://127.0.0.1:${this.layout.listenPort}${pathname}?appId=${encodeURIComponent(appId)}&roomId=${encodeURIComponent(roomId)}`;
  }

  get adminPort(): number { return this.layout.adminPort; }

  stat(name: string): Promise<number> { return pluginStat(this.layout.adminPort, name); }

  /** Waits until the plugin published membership with `eligible` pods that take new rooms. */
  waitMembership(eligible: number, timeoutMs = 15000): Promise<boolean> {
    return waitFor(`membership with ${eligible} eligible pods`, async () => (await this.stat("membership.eligible_hosts")) === eligible, timeoutMs);
  }

  /** ECDS counter for the plugin filter, e.g. "config_reload" or "config_fail". */
  async ecdsStat(name: string): Promise<number> {
    const s = await stats(this.layout.adminPort, "extension_config_discovery");
    for (const [k, v] of s) if (k.endsWith(`.${name}`) && k.includes("room-affinity")) return v;
    return 0;
  }

  /** Pushes a new plugin configuration through ECDS (atomic file rename, as a control plane would). */
  async pushPluginConfig(config: object | string): Promise<void> {
    this.layout.pluginConfig = typeof config === "string" ? config : JSON.stringify(config);
    writeAtomic(path.join(this.layout.dir, "ecds.yaml"), toYaml(extensionConfig(this.layout)));
  }

  /** LDS mode: pushes the listener again with the plugin config inline (a listener filter-chain change). */
  pushListener(pluginConfig: object): void {
    this.layout.pluginConfig = JSON.stringify(pluginConfig);
    writeAtomic(path.join(this.layout.dir, "lds.yaml"), toYaml(listeners(this.layout)));
  }

  /** Pushes a new endpoint list for the game cluster through EDS (atomic file rename). */
  setEndpoints(list: Endpoint[]): void {
    this.layout.endpoints = list;
    writeAtomic(path.join(this.layout.dir, "eds.yaml"), toYaml(endpoints(this.layout)));
  }

  /** Hosts Envoy currently has in the game cluster (admin /clusters), with what the plugin would see. */
  async envoyHosts(): Promise<EnvoyHost[]> {
    const r = await httpGet("127.0.0.1", this.layout.adminPort, "/clusters?format=json");
    const c = (JSON.parse(r.body).cluster_statuses ?? []).find((x: { name: string }) => x.name === CLUSTER);
    return (c?.host_statuses ?? []).map((h: AdminHost) => {
      const hs = h.health_status ?? {};
      const state: EnvoyHost["state"] = hs.pending_dynamic_removal ? "removing" : hs.eds_health_status === "DRAINING" ? "draining"
        : hs.failed_active_health_check || hs.failed_outlier_check ? "unhealthy" : "healthy";
      return { address: `${h.address.socket_address.address}:${h.address.socket_address.port_value}`, state };
    });
  }

  async clusterHosts(): Promise<string[]> {
    return (await this.envoyHosts()).map((h) => h.address);
  }

  /**
   * Waits until Envoy itself shows `expected` (address -> state; listed hosts only, others absent),
   * then for a membership fetch that started after that, so the plugin's snapshot shows it too.
   */
  async settle(expected: Record<string, EnvoyHost["state"]>, timeoutMs = 15000): Promise<void> {
    await waitFor(`Envoy hosts ${JSON.stringify(expected)}`, async () => {
      const hosts = await this.envoyHosts();
      const seen = Object.fromEntries(hosts.filter((h) => h.state !== "removing").map((h) => [h.address, h.state]));
      return JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(expected).sort());
    }, timeoutMs);
    const fetches = await this.stat("membership.fetches");
    await waitFor("a fresh membership snapshot", async () => (await this.stat("membership.fetches")) >= fetches + 2, timeoutMs);
  }

  accessLog(): string[] {
    const f = path.join(this.layout.dir, "access.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
  }

  podAddress(p: PodProcess): string { return `${p.host}:${p.port}`; }

  async close(): Promise<void> {
    await this.envoy.stop();
    await Promise.all(this.pods.map((p) => p.kill()));
  }
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const pods = await startPods(o.podCount ?? 3, o.podBasePort);
  const endpoints: Endpoint[] = pods.map((p) => ({ host: p.host, port: p.port }));
  const layout: Layout = {
    dir: o.dir ?? scratchDir(o.name),
    listenHost: o.listenHost ?? "127.0.0.1",
    listenPort: o.listenPort,
    adminPort: o.adminPort,
    wasmPath: WASM_ENVOY,
    pluginConfig: typeof o.pluginConfig === "string" ? o.pluginConfig : JSON.stringify(o.pluginConfig ?? {}),
    endpoints,
    ...o.layout,
  };
  try {
    const envoy = await startEnvoy(layout, { concurrency: o.concurrency ?? 2 });
    return new Gateway(envoy, pods, layout);
  } catch (e) {
    await Promise.all(pods.map((p) => p.kill()));
    throw e;
  }
}
