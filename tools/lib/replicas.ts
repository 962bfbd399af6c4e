// Several gateway replicas in front of one pod fleet, the way production runs them (Higress's chart
// defaults to 2): each replica a real Envoy with the plugin and its own shared data, a real L4
// balancer (HAProxy, mode tcp) spreading players over them like an SLB, and a real etcd as the room
// directory they share. The trial (--replicas), the replica tests and `npm run compare` drive this.
import path from "node:path";
import { Gateway, startGateway } from "./gateway";
import { PodFleet, viewOf } from "./pods";
import { Etcd } from "./etcd";
import { L4Balancer } from "./balancer";
import { scratchDir } from "./paths";

export interface ReplicaOptions {
  name: string;
  /** Balancer on basePort; replica i listens on basePort+2+2i (admin +1); etcd on basePort+10/11; pods from basePort+20. */
  basePort: number;
  replicas?: number;
  pods?: number;
  /** Plugin configuration of every replica (the directory block is added when `directory` is true). */
  pluginConfig?: Record<string, unknown>;
  /** Share a room directory (etcd) between the replicas (default true). */
  directory?: boolean;
  /** Directory settings merged into the plugin's `directory` block. */
  directoryConfig?: Record<string, unknown>;
}

export class ReplicaSet {
  constructor(
    public gateways: Gateway[],
    public fleet: PodFleet,
    public balancer: L4Balancer,
    public etcd: Etcd | null,
  ) {}

  /** Where players connect: the balancer. */
  get port(): number { return this.balancer.port; }

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

  /** Sum of a plugin metric over the replicas. */
  async stat(name: string): Promise<number> {
    let n = 0;
    for (const gw of this.gateways) n += await gw.stat(name);
    return n;
  }

  async close(): Promise<void> {
    await this.balancer.stop().catch(() => undefined);
    await Promise.all(this.gateways.map((gw) => gw.close().catch(() => undefined)));
    await this.etcd?.stop().catch(() => undefined);
    await this.fleet.stopAll();
  }
}

export async function startReplicas(o: ReplicaOptions): Promise<ReplicaSet> {
  const dir = scratchDir(o.name);
  const fleet = new PodFleet(o.basePort + 20);
  const useDirectory = o.directory !== false;
  const etcd = useDirectory ? new Etcd(path.join(dir, "etcd"), o.basePort + 10, o.basePort + 11) : null;
  const gateways: Gateway[] = [];
  let balancer: L4Balancer | null = null;
  try {
    await fleet.start(o.pods ?? 3);
    await etcd?.start();
    const pluginConfig = { ...(o.pluginConfig ?? {}), ...(useDirectory ? { directory: { ...(o.directoryConfig ?? {}) } } : {}) };
    const n = o.replicas ?? 2;
    for (let i = 0; i < n; i++) {
      gateways.push(await startGateway({
        name: `${o.name}-gw${i + 1}`, dir: path.join(dir, `gw${i + 1}`), listenPort: o.basePort + 2 + 2 * i, adminPort: o.basePort + 3 + 2 * i,
        endpoints: fleet.endpoints(), pluginConfig, layout: { directoryPort: etcd?.clientPort },
        start: { logLevel: "warning", wasmLogLevel: "info" },
      }));
    }
    balancer = new L4Balancer(path.join(dir, "balancer"), o.basePort, gateways.map((gw, i) => ({ id: `gw${i + 1}`, port: gw.port })));
    await balancer.start();
    const set = new ReplicaSet(gateways, fleet, balancer, etcd);
    await Promise.all(gateways.map((gw) => gw.settle(viewOf(fleet.endpoints()), 20000)));
    return set;
  } catch (e) {
    await balancer?.stop().catch(() => undefined);
    await Promise.all(gateways.map((gw) => gw.close().catch(() => undefined)));
    await etcd?.stop().catch(() => undefined);
    await fleet.stopAll();
    throw e;
  }
}
