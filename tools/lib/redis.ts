// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A real Redis (Debian's redis-server, installed by scripts/setup.sh) for the room directory on
// Higress: started on loopback (optionally with a password), stopped and started again, frozen with
// SIGSTOP (a Redis that hangs) and thawed. Nothing is persisted: a restarted Redis is empty, as a
// failed-over replica without the latest writes would be.
import { spawn } from "node:child_process";
import { ServerProcess } from "./server-process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitFor } from "./wait";
import { replyLength } from "./emulator-redis";

export const REDIS_BIN = "/usr/bin/redis-server";

export class Redis extends ServerProcess {
  constructor(
    public dir: string,
    public port: number,
    public password = "",
  ) {
    super();
  }

  async start(): Promise<void> {
    if (this.running) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const log = fs.openSync(path.join(this.dir, "redis.log"), "a");
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir];
    if (this.password) args.push("--requirepass", this.password);
    this.proc = spawn(REDIS_BIN, args, { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.frozen = false;
    await waitFor(
      `redis on ${this.port}`,
      async () => {
        if (!this.running) throw new Error(`redis exited; log:\n${fs.readFileSync(path.join(this.dir, "redis.log"), "utf8").slice(-2000)}`);
        return (await this.command(["PING"]).catch(() => "")).includes("PONG");
      },
      10000,
      50,
    );
  }

  /** One command on a fresh connection (authenticated if a password is set); the raw reply text. */
  command(args: string[]): Promise<string> {
    return redisCommand({ host: "127.0.0.1", port: this.port, password: this.password }, args);
  }
}

export interface RedisAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
  database?: number;
}

/** One command to any Redis on a fresh connection (AUTH and SELECT first where given); the raw reply text. */
export function redisCommand(to: RedisAddress, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(to.port, to.host);
    const enc = (a: string[]) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("");
    const before: string[][] = [];
    if (to.password) before.push(to.username ? ["AUTH", to.username, to.password] : ["AUTH", to.password]);
    if (to.database) before.push(["SELECT", String(to.database)]);
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`redis ${to.host}:${to.port}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      // One reply per command sent: skip those of AUTH and SELECT, failing on their errors.
      let at = 0;
      for (let i = 0; i < before.length; i++) {
        const n = replyLength(buf, at);
        if (n < 0) return;
        if (buf[at] === 0x2d) {
          clearTimeout(t);
          s.destroy();
          reject(new Error(`redis ${before[i][0]}: ${buf.toString("utf8", at + 1, at + n).trim()}`));
          return;
        }
        at += n;
      }
      const n = replyLength(buf, at);
      if (n < 0) return;
      clearTimeout(t);
      s.end();
      resolve(buf.toString("utf8", at, at + n));
    });
    s.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.write(before.map(enc).join("") + enc(args));
  });
}
