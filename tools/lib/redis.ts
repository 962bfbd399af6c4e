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
  constructor(public dir: string, public port: number, public password = "") { super(); }

  async start(): Promise<void> {
    if (this.running) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const log = fs.openSync(path.join(this.dir, "redis.log"), "a");
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir];
    if (this.password) args.push("--requirepass", this.password);
    this.proc = spawn(REDIS_BIN, args, { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.frozen = false;
    await waitFor(`redis on ${this.port}`, async () => {
      if (!this.running) throw new Error(`redis exited; log:\n${fs.readFileSync(path.join(this.dir, "redis.log"), "utf8").slice(-2000)}`);
      return (await this.command(["PING"]).catch(() => "")).includes("PONG");
    }, 10000, 50);
  }

  /** One command on a fresh connection (authenticated if a password is set); the raw reply text. */
  command(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.port, "127.0.0.1");
      const enc = (a: string[]) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("");
      let buf = Buffer.alloc(0);
      const t = setTimeout(() => { s.destroy(); reject(new Error("redis command timeout")); }, 2000);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        // One reply per command sent (AUTH's first when a password is set).
        const skip = this.password ? replyLength(buf) : 0;
        if (skip < 0) return;
        const n = replyLength(buf, skip);
        if (n < 0) return;
        clearTimeout(t);
        s.end();
        resolve(buf.toString("utf8", skip, skip + n));
      });
      s.on("error", (e) => { clearTimeout(t); reject(e); });
      s.write((this.password ? enc(["AUTH", this.password]) : "") + enc(args));
    });
  }
}
