// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A gateway setup under test, as the churn scenarios (churn/) see it: started in front of
// some pods, told about membership changes and reloads its own way. EnvoySystem is this project's
// gateway (the plugin, or Envoy's native MAGLEV/round robin); bench/systems.ts adds the peers.
import type { Layout } from "./envoy-config";
import { Endpoint } from "./envoy-config";
import { Gateway, startGateway } from "./gateway";
import { viewOf } from "./pods";

/** Old nginx workers and old HAProxy processes keep reload-surviving sockets this long (Envoy: --drain-time-s). */
export const RELOAD_GRACE_S = 3;

/** A pod as the control plane publishes it (the fleet's endpoints): serving, or DRAINING. */
export type Member = Endpoint;

export interface System {
  readonly name: string;
  readonly label: string;
  /** What the room key is made of. */
  readonly key: string;
  /** How it is configured, one line for the report. */
  readonly how: string;
  port: number;
  start(members: Member[]): Promise<void>;
  /** Applies a membership change the system's way; resolves once it is in force. */
  setMembers(members: Member[]): Promise<void>;
  /** A configuration reload, the system's way. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export class EnvoySystem implements System {
  gw: Gateway | null = null;
  private reloads = 0;

  constructor(
    public readonly name: "plugin" | "maglev" | "roundrobin",
    public port: number,
    public adminPort: number,
    public dir: string,
    public pluginConfig: object = {},
    /** Layout settings over the system's own (health checks, retries, ...). */
    public layout: Partial<Layout> = {},
  ) {}

  get label(): string {
    return { plugin: "Envoy + room-affinity plugin", maglev: "Envoy MAGLEV hash_policy", roundrobin: "Envoy round robin (no affinity)" }[
      this.name
    ];
  }
  get key(): string {
    return { plugin: "path:appId:roomId", maglev: "appId+roomId (two hash policies)", roundrobin: "none" }[this.name];
  }
  get how(): string {
    return {
      plugin:
        "wasm filter (ECDS) + stateful_session, MAGLEV on the plugin's room hash; EDS for pods, DRAINING for draining; reload = ECDS + RDS push",
      maglev: "route hash_policy [query_parameter appId, roomId], lb_policy MAGLEV; EDS; reload = RDS push",
      roundrobin: "lb_policy ROUND_ROBIN, no filter",
    }[this.name];
  }

  async start(members: Member[]): Promise<void> {
    this.gw = await startGateway({
      name: this.name,
      dir: this.dir,
      listenPort: this.port,
      adminPort: this.adminPort,
      endpoints: members,
      pluginConfig: this.pluginConfig,
      layout: {
        plugin: this.name === "plugin",
        statefulSession: this.name === "plugin",
        lbPolicy: this.name === "roundrobin" ? "ROUND_ROBIN" : "MAGLEV",
        hashQueryParams: this.name === "maglev" ? ["appId", "roomId"] : undefined,
        ...this.layout,
      },
      start: { logLevel: "warning", wasmLogLevel: "info" },
    });
    await this.gw.settle(viewOf(members), 20000);
  }

  async setMembers(members: Member[]): Promise<void> {
    this.gw!.setEndpoints(members);
    await this.gw!.settle(viewOf(members), 20000);
  }

  async reload(): Promise<void> {
    this.reloads++;
    if (this.name === "plugin") this.gw!.pushPluginConfig({ ...this.pluginConfig, entryTtlSeconds: 86400 + this.reloads });
    this.gw!.reloadRoutes();
    await this.gw!.waitRoutes();
  }

  async stop(): Promise<void> {
    await this.gw?.close();
  }
}
