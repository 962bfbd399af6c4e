// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The systems of the two-replica scenario (tools/lib/churn/replicas.ts): this plugin's Envoy
// replicas without and with the room directory (tools/lib/replicas.ts), and two instances of each peer
// behind the same L4 balancer, each set up the way its documentation answers "several instances":
//   maglev x2     nothing to share: the hash makes both agree while their host sets do
//   haproxy x2    `peers` between the two instances: stick-table entries pushed to each other
//   nginx-lua x2  nothing to share: each instance has its own shared-dict cache (what teams run)
import path from "node:path";
import { GatewayReplicas, ReplicatedSystem } from "../tools/lib/replicas";
import { L4Balancer } from "../tools/lib/balancer";
import { System, Member, EnvoySystem } from "../tools/lib/system";
import { HaproxySystem, NginxLuaSystem } from "./systems";
import { scratchDir } from "../tools/lib/paths";
import { sleep } from "../tools/lib/wait";

export const REPLICATED_NAMES = ["plugin", "plugin+directory", "maglev", "haproxy", "nginx-lua"] as const;

/** Two instances of a single-instance system behind an L4 balancer; a restart stops and starts one. */
class Pair implements ReplicatedSystem {
  private balancer: L4Balancer;
  private members: Member[] = [];

  constructor(
    public readonly name: string,
    public readonly label: string,
    public readonly how: string,
    public readonly port: number,
    private instances: System[],
    dir: string,
  ) {
    this.balancer = new L4Balancer(
      path.join(dir, "balancer"),
      port,
      instances.map((s, i) => ({ id: `i${i + 1}`, port: s.port })),
    );
  }

  async start(members: Member[]): Promise<void> {
    this.members = members;
    for (const s of this.instances) await s.start(members);
    await this.balancer.start();
  }

  async setMembers(members: Member[]): Promise<void> {
    this.members = members;
    await Promise.all(this.instances.map((s) => s.setMembers(members)));
  }

  async restart(i: number): Promise<void> {
    await this.instances[i].stop();
    await this.instances[i].start(this.members);
    await sleep(1500); // the balancer's TCP check puts it back
  }

  async stop(): Promise<void> {
    await this.balancer.stop().catch(() => undefined);
    await Promise.all(this.instances.map((s) => s.stop().catch(() => undefined)));
  }
}

/** Balancer on `port`; instances on port+2.. (the plugin's: etcd on port+2, replicas from port+4; admin/peer ports above). */
export function makeReplicated(name: string, port: number): ReplicatedSystem {
  const dir = scratchDir(`replicated-${name.replace("+", "-")}`);
  switch (name) {
    case "plugin":
      return new GatewayReplicas("plugin", "Envoy + plugin x2, no directory", "each replica its own table; MAGLEV on the room hash", {
        name: "replicated-plugin",
        basePort: port,
        directory: false,
      });
    case "plugin+directory":
      return new GatewayReplicas(
        "plugin+directory",
        "Envoy + plugin x2 + etcd room directory",
        "local tables backed by the etcd directory (first writer wins)",
        { name: "replicated-plugin-dir", basePort: port },
      );
    case "maglev":
      return new Pair(
        "maglev",
        "Envoy MAGLEV x2",
        "route hash_policy on appId, roomId; nothing shared",
        port,
        [0, 1].map((i) => new EnvoySystem("maglev", port + 2 + 2 * i, port + 3 + 2 * i, path.join(dir, `i${i + 1}`))),
        dir,
      );
    case "haproxy": {
      const peers = { "room-lb1": port + 12, "room-lb2": port + 13 };
      return new Pair(
        "haproxy",
        "HAProxy stick table x2 with peers",
        "stick tables synchronised by `peers` between the two instances",
        port,
        [0, 1].map((i) => new HaproxySystem(port + 2 + 2 * i, port + 12 + i, path.join(dir, `i${i + 1}`), `room-lb${i + 1}`, peers)),
        dir,
      );
    }
    case "nginx-lua":
      return new Pair(
        "nginx-lua",
        "nginx + Lua cache x2",
        "each instance its own shared-dict cache",
        port,
        [0, 1].map((i) => new NginxLuaSystem(port + 2 + 2 * i, path.join(dir, `i${i + 1}`))),
        dir,
      );
  }
  throw new Error(`unknown replicated system ${name} (known: ${REPLICATED_NAMES.join(", ")})`);
}
