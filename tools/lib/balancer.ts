// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A real L4 TCP balancer in front of gateway replicas, the way an SLB spreads players over them:
// HAProxy in `mode tcp`, round robin per connection, no affinity of its own. Its TCP health checks
// (every 500 ms) take a restarting replica out and put it back, as a cloud load balancer's do.
import { spawn, ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitFor } from "./wait";

export const HAPROXY_BIN = "/usr/sbin/haproxy";

export class L4Balancer {
  proc: ChildProcess | null = null;

  constructor(
    public dir: string,
    public port: number,
    public backends: { id: string; port: number }[],
  ) {}

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const servers = this.backends.map((b) => `  server ${b.id} 127.0.0.1:${b.port} check inter 500 fall 1 rise 1`).join("\n");
    fs.writeFileSync(
      path.join(this.dir, "haproxy.cfg"),
      `global
  maxconn 9000
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
frontend players
  bind 127.0.0.1:${this.port}
  default_backend gateways
backend gateways
  balance roundrobin
${servers}
`,
    );
    const log = fs.openSync(path.join(this.dir, "haproxy.log"), "a");
    this.proc = spawn(HAPROXY_BIN, ["-db", "-f", path.join(this.dir, "haproxy.cfg")], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    await waitFor(
      `L4 balancer on ${this.port}`,
      () =>
        new Promise<boolean>((r) => {
          const s = net.connect(this.port, "127.0.0.1", () => {
            s.destroy();
            r(true);
          });
          s.on("error", () => r(false));
        }),
      10000,
      100,
    );
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }
}
