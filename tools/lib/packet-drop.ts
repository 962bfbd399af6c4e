// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A lost node, as the gateway sees one: every packet to and from a pod's port is dropped (netfilter on
// the loopback), so connects time out and open sockets go silent, while the pod process lives on.
// Needs root and iptables; every rule carries a comment so a run that died can be cleaned up.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const TAG = "room-affinity-lost-node";

function rules(port: number): string[][] {
  return [
    ["INPUT", "-p", "tcp", "--dport", String(port), "-m", "comment", "--comment", TAG, "-j", "DROP"],
    ["INPUT", "-p", "tcp", "--sport", String(port), "-m", "comment", "--comment", TAG, "-j", "DROP"],
  ];
}

/** Packets of one pod's port dropped until stop(). */
export class PacketDrop {
  private constructor(private readonly port: number) {}

  /** Drops every packet to and from `port` from now on. Throws, naming what is missing, without root or iptables. */
  static async start(port: number): Promise<PacketDrop> {
    try {
      await PacketDrop.clearLeftovers();
      for (const r of rules(port)) await run("iptables", ["-I", ...r]);
    } catch (e) {
      await new PacketDrop(port).stop();
      throw new Error(`a lost node needs root and iptables (apt-get install -y iptables): ${(e as Error).message}`);
    }
    return new PacketDrop(port);
  }

  /** Removes the rules of runs that died before they could (they would cut off a later run's pod). */
  static async clearLeftovers(): Promise<void> {
    const { stdout } = await run("iptables", ["-S", "INPUT"]);
    for (const line of stdout.split("\n")) {
      if (!line.startsWith("-A INPUT") || !line.includes(TAG)) continue;
      const args = line.replace(/"/g, "").split(" ").slice(2);
      await run("iptables", ["-D", "INPUT", ...args]).catch(() => undefined);
    }
  }

  /** Lets the port's packets through again (idempotent). */
  async stop(): Promise<void> {
    const removed = (r: string[]) =>
      run("iptables", ["-D", ...r]).then(
        () => true,
        () => false, // -D fails once the rule is gone: the end state wanted
      );
    for (const r of rules(this.port)) while (await removed(r)) {}
  }
}
