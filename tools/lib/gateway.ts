// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A running gateway: a real Envoy rendered from a Layout, and the operations the trial, the tests and
// the benchmarks perform on it the way a control plane would (endpoints by EDS, plugin config by ECDS,
// routes by RDS, all atomic file renames), plus reading its state (hosts, plugin metrics, access log).
import fs from "node:fs";
import path from "node:path";
import { Layout, Endpoint, writeAtomic, extensionConfig, endpoints, listeners, routes, CLUSTER } from "./envoy-config";
import { startEnvoy, EnvoyProcess, StartOptions, pluginStat, stats, clusterHosts, EnvoyHost } from "./envoy";
import { PodFleet, ExpectedHostState } from "./pods";
import { WASM_ENVOY, scratchDir } from "./paths";
import { waitFor } from "./wait";
import { toYaml } from "./yaml";

export interface GatewayOptions {
  name: string;
  listenPort: number;
  adminPort: number;
  endpoints: Endpoint[];
  pluginConfig?: object | string;
  listenHost?: string;
  dir?: string;
  /** Extra layout settings (no plugin, MAGLEV, LDS mode, ...). */
  layout?: Partial<Layout>;
  start?: StartOptions;
}

export class Gateway {
  private routeVersion = 1;

  constructor(
    public envoy: EnvoyProcess,
    public layout: Layout,
    private startOptions: StartOptions = {},
  ) {}

  /** Stops this Envoy and starts it again on the same configuration: its shared data (the table) is gone. */
  async restart(): Promise<void> {
    await this.envoy.stop();
    this.envoy = await startEnvoy(this.layout, { concurrency: 2, ...this.startOptions });
  }

  url(appId: string, roomId: string, pathname = "/ws"): string {
    return `ws://127.0.0.1:${this.layout.listenPort}${pathname}?appId=${encodeURIComponent(appId)}&roomId=${encodeURIComponent(roomId)}`;
  }

  get port(): number {
    return this.layout.listenPort;
  }
  get adminPort(): number {
    return this.layout.adminPort;
  }
  /** The plugin is in the chain and refreshes membership from the admin interface. */
  get fetchesMembership(): boolean {
    if (this.layout.plugin === false) return false;
    try {
      return JSON.parse(this.layout.pluginConfig).adminCluster !== "";
    } catch {
      return true;
    }
  }

  stat(name: string): Promise<number> {
    return pluginStat(this.layout.adminPort, name);
  }

  /** Waits until the plugin published membership with `eligible` pods that take new rooms. */
  waitMembership(eligible: number, timeoutMs = 15000): Promise<boolean> {
    return waitFor(
      `membership with ${eligible} eligible pods`,
      async () => (await this.stat("membership.eligible_hosts")) === eligible,
      timeoutMs,
    );
  }

  /** ECDS counter for the plugin filter, e.g. "config_reload" or "config_fail". */
  async ecdsStat(name: string): Promise<number> {
    const s = await stats(this.layout.adminPort, "extension_config_discovery");
    for (const [k, v] of s) if (k.endsWith(`.${name}`) && k.includes("room-affinity")) return v;
    return 0;
  }

  /** Pushes a new plugin configuration through ECDS (atomic file rename, as a control plane would). */
  pushPluginConfig(config: object | string): void {
    this.layout.pluginConfig = typeof config === "string" ? config : JSON.stringify(config);
    writeAtomic(path.join(this.layout.dir, "ecds.yaml"), toYaml(extensionConfig(this.layout)));
  }

  /** Pushes a plugin configuration by ECDS and waits until Envoy accepted it (config_reload moved). */
  async applyPluginConfig(config: object | string): Promise<void> {
    const reloads = await this.ecdsStat("config_reload");
    this.pushPluginConfig(config);
    await waitFor("ECDS reload", async () => (await this.ecdsStat("config_reload")) > reloads, 10000);
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

  /** Rewrites the route configuration (RDS) with a new version (visible as x-route-version on responses). */
  reloadRoutes(): number {
    this.routeVersion++;
    writeAtomic(path.join(this.layout.dir, "rds.yaml"), toYaml(routes(this.layout, this.routeVersion)));
    return this.routeVersion;
  }

  /** Waits until responses carry the latest route version. */
  async waitRoutes(): Promise<void> {
    const want = String(this.routeVersion);
    await waitFor(
      `routes v${want}`,
      async () => (await fetch(`http://127.0.0.1:${this.port}/plain`)).headers.get("x-route-version") === want,
      10000,
    );
  }

  /** Hosts Envoy currently has in the game cluster (admin /clusters), classified as the plugin does. */
  envoyHosts(): Promise<EnvoyHost[]> {
    return clusterHosts(this.layout.adminPort, CLUSTER);
  }

  async clusterHosts(): Promise<string[]> {
    return (await this.envoyHosts()).map((h) => h.address);
  }

  /**
   * Waits until Envoy itself shows `expected` (address -> state; listed hosts only, others absent),
   * then, with the plugin, for a membership fetch that started after that, so its snapshot shows it too.
   */
  async settle(expected: Record<string, ExpectedHostState>, timeoutMs = 15000): Promise<void> {
    const want = JSON.stringify(Object.entries(expected).sort());
    await waitFor(
      `Envoy hosts ${want}`,
      async () => {
        const hosts = await this.envoyHosts();
        return (
          JSON.stringify(
            hosts
              .filter((h) => h.state !== "removing")
              .map((h) => [h.address, h.state])
              .sort(),
          ) === want
        );
      },
      timeoutMs,
    );
    if (!this.fetchesMembership) return;
    const fetches = await this.stat("membership.fetches_total");
    await waitFor("a fresh membership snapshot", async () => (await this.stat("membership.fetches_total")) >= fetches + 2, timeoutMs);
  }

  accessLog(): string[] {
    const f = path.join(this.layout.dir, "access.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
  }

  async close(): Promise<void> {
    await this.envoy.stop();
  }
}

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const layout: Layout = {
    dir: o.dir ?? scratchDir(o.name),
    listenHost: o.listenHost ?? "127.0.0.1",
    listenPort: o.listenPort,
    adminPort: o.adminPort,
    wasmPath: WASM_ENVOY,
    pluginConfig: typeof o.pluginConfig === "string" ? o.pluginConfig : JSON.stringify(o.pluginConfig ?? {}),
    endpoints: o.endpoints,
    ...o.layout,
  };
  return new Gateway(await startEnvoy(layout, { concurrency: 2, ...o.start }), layout, o.start);
}

/** A gateway in front of its own demo pods: what the trial and the end-to-end tests run. */
export interface Bed {
  gw: Gateway;
  fleet: PodFleet;
  close(): Promise<void>;
}

export interface BedOptions extends Omit<GatewayOptions, "endpoints"> {
  podBasePort: number;
  podCount?: number;
}

export async function startBed(o: BedOptions): Promise<Bed> {
  const fleet = new PodFleet(o.podBasePort, o.layout?.healthCheck !== false);
  try {
    await fleet.start(o.podCount ?? 3);
    const gw = await startGateway({ ...o, endpoints: fleet.endpoints() });
    return {
      gw,
      fleet,
      close: async () => {
        await gw.close();
        await fleet.stopAll();
      },
    };
  } catch (e) {
    await fleet.stopAll();
    throw e;
  }
}
