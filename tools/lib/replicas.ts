// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Several gateway replicas in front of one pod fleet, the way production runs them (Higress's chart
// defaults to 2): each replica a real Envoy with the plugin and its own shared data, a real L4
// balancer (HAProxy, mode tcp) spreading players over them like an SLB, and a real etcd as the room
// directory they share. The trial (--replicas), the replica tests, the bench and `npm run compare`
// drive this.
import path from "node:path";
import { Gateway, startGateway } from "./gateway";
import { PodFleet, viewOf } from "./pods";
import { Etcd } from "./etcd";
import { L4Balancer } from "./balancer";
import { scratchDir } from "./paths";
import { Member, System } from "./system";
import { Layout } from "./envoy-config";

/** A gateway run as several replicas behind one L4 balancer, as the two-replica scenario sees it. */
export interface ReplicatedSystem {
  readonly name: string;
  readonly label: string;
  readonly how: string;
  /** Where players connect: the balancer. */
  readonly port: number;
  start(members: Member[]): Promise<void>;
  setMembers(members: Member[]): Promise<void>;
  /** Stops and starts replica `i` (its local state is lost, as in an upgrade); resolves once it serves again. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  name: string;
  /** Balancer on basePort (basePort+1 is left to a control API); etcd on basePort+2 and +3; replica i (0-based)
   *  listens on basePort+4+2i (admin +1); pods from just after the last replica unless `podBasePort` says. */
  basePort: number;
  podBasePort?: number;
  replicas?: number;
  pods?: number;
  /** Plugin configuration of every replica (the directory block is added when `directory` is true). */
  pluginConfig?: Record<string, unknown>;
  /** Share a room directory (etcd) between the replicas (default true). */
  directory?: boolean;
  /** Directory settings merged into the plugin's `directory` block. */
  directoryConfig?: Record<string, unknown>;
  /** Layout of every replica (default: the plugin's). */
  layout?: Partial<Layout>;
}

/**
 * Envoy replicas (with or without the plugin's directory) behind an L4 balancer; also a System, so the
 * live churn scenarios run through replicas as through one gateway.
 */
export class GatewayReplicas implements ReplicatedSystem, System {
  gateways: Gateway[] = [];
  balancer: L4Balancer | null = null;
  etcd: Etcd | null = null;
  readonly key = "path:appId:roomId";
  private dir: string;
  private reloads = 0;

  constructor(
    public readonly name: string,
    public readonly label: string,
    public readonly how: string,
    public o: ReplicaOptions,
  ) {
    this.dir = scratchDir(o.name);
  }

  get port(): number {
    return this.o.basePort;
  }

  async start(members: Member[]): Promise<void> {
    const o = this.o;
    const useDirectory = o.directory !== false && o.layout?.plugin !== false;
    try {
      if (useDirectory) {
        this.etcd = new Etcd(path.join(this.dir, "etcd"), o.basePort + 2, o.basePort + 3);
        await this.etcd.start();
      }
      const pluginConfig = { ...(o.pluginConfig ?? {}), ...(useDirectory ? { directory: { ...(o.directoryConfig ?? {}) } } : {}) };
      for (let i = 0; i < (o.replicas ?? 2); i++) {
        this.gateways.push(
          await startGateway({
            name: `${o.name}-gw${i + 1}`,
            dir: path.join(this.dir, `gw${i + 1}`),
            listenPort: o.basePort + 4 + 2 * i,
            adminPort: o.basePort + 5 + 2 * i,
            endpoints: members,
            pluginConfig,
            // No fallbackHeader with a directory: each replica ranks on the membership it read last, and in
            // rolling updates their rankings differed, splitting rooms where directory writes timed out.
            // Pins reach pods a replica's own health check failed: a pin judged by that verdict moved
            // rooms off a restarted pod that the other replica already used again (docs/stock-envoy.md).
            layout: {
              directoryPort: this.etcd?.clientPort,
              ...(useDirectory ? { fallbackHeader: "", pinsIgnoreHealth: true } : {}),
              ...(o.layout ?? {}),
            },
            start: { logLevel: "warning", wasmLogLevel: "info" },
          }),
        );
      }
      this.balancer = new L4Balancer(
        path.join(this.dir, "balancer"),
        o.basePort,
        this.gateways.map((gw, i) => ({ id: `gw${i + 1}`, port: gw.port })),
      );
      await this.balancer.start();
      await Promise.all(this.gateways.map((gw) => gw.settle(viewOf(members), 20000)));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async setMembers(members: Member[]): Promise<void> {
    for (const gw of this.gateways) gw.setEndpoints(members);
    await Promise.all(this.gateways.map((gw) => gw.settle(viewOf(members), 20000)));
  }

  /** A configuration reload on every replica at once: the plugin's (ECDS) and the routes (RDS). */
  async reload(): Promise<void> {
    this.reloads++;
    for (const gw of this.gateways) {
      if (this.o.layout?.plugin !== false)
        gw.pushPluginConfig({ ...JSON.parse(gw.layout.pluginConfig), entryTtlSeconds: 86400 + this.reloads });
      gw.reloadRoutes();
    }
    await Promise.all(this.gateways.map((gw) => gw.waitRoutes()));
  }

  async restart(i: number): Promise<void> {
    await this.gateways[i].restart();
    await this.gateways[i].settle(viewOf(this.gateways[i].layout.endpoints), 20000);
    // The balancer's TCP check (every 500 ms) puts it back.
    await new Promise((r) => setTimeout(r, 1500));
  }

  /** Sum of a plugin metric over the replicas. */
  async stat(name: string): Promise<number> {
    let n = 0;
    for (const gw of this.gateways) n += await gw.stat(name);
    return n;
  }

  async stop(): Promise<void> {
    await this.balancer?.stop().catch(() => undefined);
    await Promise.all(this.gateways.map((gw) => gw.close().catch(() => undefined)));
    await this.etcd?.stop().catch(() => undefined);
  }
}

/** Gateway replicas and the pod fleet behind them: what the trial and the replica tests run. */
export class ReplicaSet {
  constructor(
    public replicas: GatewayReplicas,
    public fleet: PodFleet,
  ) {}

  get gateways(): Gateway[] {
    return this.replicas.gateways;
  }
  get etcd(): Etcd | null {
    return this.replicas.etcd;
  }
  get port(): number {
    return this.replicas.port;
  }

  url(roomId: string, appId = "a1"): string {
    return `ws://127.0.0.1:${this.port}/ws?appId=${encodeURIComponent(appId)}&roomId=${encodeURIComponent(roomId)}`;
  }

  /** Publishes the fleet's endpoints to every replica (the control plane pushes to all of them). */
  publish(): void {
    for (const gw of this.gateways) gw.setEndpoints(this.fleet.endpoints());
  }

  /** Waits until every replica's Envoy and plugin show the fleet's states. */
  async settle(timeoutMs = 20000): Promise<void> {
    await Promise.all(this.gateways.map((gw) => gw.settle(this.fleet.expectedView(), timeoutMs)));
  }

  stat(name: string): Promise<number> {
    return this.replicas.stat(name);
  }

  async close(): Promise<void> {
    await this.replicas.stop();
    await this.fleet.stopAll();
  }
}

export async function startReplicas(o: ReplicaOptions): Promise<ReplicaSet> {
  const fleet = new PodFleet(o.podBasePort ?? o.basePort + 4 + 2 * (o.replicas ?? 2), o.layout?.healthCheck !== false);
  const replicas = new GatewayReplicas("plugin", "Envoy + room-affinity plugin", "", o);
  try {
    await fleet.start(o.pods ?? 3);
    await replicas.start(fleet.endpoints());
    return new ReplicaSet(replicas, fleet);
  } catch (e) {
    await replicas.stop();
    await fleet.stopAll();
    throw e;
  }
}
