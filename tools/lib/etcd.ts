// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A real etcd (Debian's etcd-server, installed by scripts/setup.sh) for the room directory: started
// on loopback with its own data directory, stopped, started again on the same data (a store that
// restarts keeps its keys), frozen with SIGSTOP (a store that hangs) and thawed.
import { spawn } from "node:child_process";
import { ServerProcess } from "./server-process";
import fs from "node:fs";
import path from "node:path";
import { httpRequest } from "./http";
import { waitFor } from "./wait";

export const ETCD_BIN = "/usr/bin/etcd";

export class Etcd extends ServerProcess {
  constructor(
    public dir: string,
    public clientPort: number,
    public peerPort: number,
  ) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const log = fs.openSync(path.join(this.dir, "etcd.log"), "a");
    this.proc = spawn(
      ETCD_BIN,
      [
        "--name",
        "room-directory",
        "--data-dir",
        path.join(this.dir, "data"),
        "--listen-client-urls",
        this.url,
        "--advertise-client-urls",
        this.url,
        "--listen-peer-urls",
        `http://127.0.0.1:${this.peerPort}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${this.peerPort}`,
        "--initial-cluster",
        `room-directory=http://127.0.0.1:${this.peerPort}`,
        // Every write is a revision; keep ten minutes of history, as production etcd should.
        "--auto-compaction-mode",
        "periodic",
        "--auto-compaction-retention",
        "10m",
      ],
      { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    this.frozen = false;
    await waitFor(
      `etcd on ${this.url}`,
      async () => {
        if (!this.running) throw new Error(`etcd exited; log:\n${fs.readFileSync(path.join(this.dir, "etcd.log"), "utf8").slice(-2000)}`);
        try {
          return (
            (await httpRequest("127.0.0.1", this.clientPort, "POST", "/v3/kv/range", JSON.stringify({ key: "cHJvYmU=" }), 500)).status ===
            200
          );
        } catch {
          return false;
        }
      },
      20000,
      100,
    );
  }

  /** Every key under `prefix` with its value (decoded), for tests and the trial. */
  async entries(prefix: string): Promise<Map<string, string>> {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    // range_end = prefix with its last byte incremented: every key that starts with prefix.
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    const r = await httpRequest(
      "127.0.0.1",
      this.clientPort,
      "POST",
      "/v3/kv/range",
      JSON.stringify({ key: b64(prefix), range_end: end.toString("base64") }),
      5000,
    );
    const out = new Map<string, string>();
    for (const kv of JSON.parse(r.body).kvs ?? [])
      out.set(Buffer.from(kv.key, "base64").toString(), Buffer.from(kv.value ?? "", "base64").toString());
    return out;
  }
}
