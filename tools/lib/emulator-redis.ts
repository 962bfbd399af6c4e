// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Higress's Redis host functions, for the host emulator: proxy_redis_init remembers a cluster's
// credentials, database and timeout; proxy_redis_call sends the plugin's RESP query over a real TCP
// connection to a real redis-server (AUTH and SELECT first, as Higress's client does) and the reply is
// delivered later, through proxy_on_redis_call_response on the root context, status 0 with the raw
// RESP reply, or status 1 on a network error or when no reply came within the timeout.
import net from "node:net";

export interface RedisEndpoint {
  host: string;
  port: number;
}

interface Pending {
  token: number;
  timer: NodeJS.Timeout;
  /** Timed out already: its reply, if it ever comes, is read and dropped. */
  dead: boolean;
  /** Internal (AUTH, SELECT): the reply is not the plugin's. */
  internal: boolean;
}

/** Bytes of the first complete RESP reply in `b` from `at`, or -1 if it is not complete yet. */
export function replyLength(b: Buffer, at = 0): number {
  if (at >= b.length) return -1;
  const eol = b.indexOf("\r\n", at);
  if (eol < 0) return -1;
  const tag = String.fromCharCode(b[at]);
  const head = eol + 2 - at;
  if (tag === "+" || tag === "-" || tag === ":") return head;
  const n = Number(b.toString("latin1", at + 1, eol));
  if (tag === "$") {
    if (n < 0) return head;
    return eol + 2 + n + 2 <= b.length ? head + n + 2 : -1;
  }
  if (tag === "*") {
    if (n < 0) return head;
    let len = head;
    for (let i = 0; i < n; i++) {
      const l = replyLength(b, at + len);
      if (l < 0) return -1;
      len += l;
    }
    return len;
  }
  return b.length - at; // not RESP: hand it over whole, the plugin must cope
}

class Connection {
  socket: net.Socket | null = null;
  queue: Pending[] = [];
  buf = Buffer.alloc(0);

  constructor(
    private endpoint: RedisEndpoint,
    private cfg: ClusterConfig,
    private deliver: (token: number, status: number, reply: Buffer) => void,
  ) {}

  send(token: number, query: Buffer, internal = false): void {
    if (!this.socket) this.open();
    const p: Pending = { token, dead: false, internal, timer: setTimeout(() => this.expire(p), this.cfg.timeoutMs) };
    this.queue.push(p);
    this.socket!.write(query);
  }

  private open(): void {
    const s = net.connect(this.endpoint.port, this.endpoint.host);
    this.socket = s;
    s.on("data", (d) => this.onData(d));
    s.on("error", () => this.fail());
    s.on("close", () => this.fail());
    // As Higress's client: authenticate and select the database before anything else.
    if (this.cfg.password) {
      const args = this.cfg.username ? ["AUTH", this.cfg.username, this.cfg.password] : ["AUTH", this.cfg.password];
      this.send(0, command(args), true);
    }
    if (this.cfg.db > 0) this.send(0, command(["SELECT", String(this.cfg.db)]), true);
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const n = replyLength(this.buf);
      if (n < 0) return;
      const reply = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      const p = this.queue.shift();
      if (!p) continue;
      clearTimeout(p.timer);
      if (!p.dead && !p.internal) this.deliver(p.token, 0, Buffer.from(reply));
    }
  }

  private expire(p: Pending): void {
    if (p.dead) return;
    p.dead = true;
    if (!p.internal) this.deliver(p.token, 1, Buffer.alloc(0));
  }

  /** The connection broke: every call in flight fails; the next call reconnects. */
  private fail(): void {
    const pending = this.queue;
    this.queue = [];
    this.buf = Buffer.alloc(0);
    this.socket?.destroy();
    this.socket = null;
    for (const p of pending) {
      clearTimeout(p.timer);
      if (!p.dead && !p.internal) this.deliver(p.token, 1, Buffer.alloc(0));
    }
  }

  close(): void {
    for (const p of this.queue) clearTimeout(p.timer);
    this.queue = [];
    this.socket?.destroy();
    this.socket = null;
  }
}

interface ClusterConfig {
  username: string;
  password: string;
  timeoutMs: number;
  db: number;
}

function command(args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
}

/** The Redis side of one emulated Higress process (its clusters and their connections). */
export class EmulatedRedis {
  private configs = new Map<string, ClusterConfig>();
  private connections = new Map<string, Connection>();
  inFlight = 0;

  /** `endpoints`: where each Redis cluster name ("outbound|6379||redis.static") really is. */
  constructor(
    public endpoints: Map<string, RedisEndpoint>,
    private deliver: (token: number, status: number, reply: Buffer) => void,
  ) {}

  /** proxy_redis_init: `cluster` may carry "?db=N&..." options, as Higress's wrapper sends them. */
  init(cluster: string, username: string, password: string, timeoutMs: number): number {
    const [name, query] = cluster.split("?", 2);
    const db = Number(new URLSearchParams(query ?? "").get("db") ?? "0");
    this.configs.set(name, { username, password, timeoutMs: timeoutMs || 1000, db: Number.isFinite(db) ? db : 0 });
    this.connections.get(name)?.close();
    this.connections.delete(name);
    return 0;
  }

  /** proxy_redis_call: 0 (OK) and the reply later, or 2 (BAD_ARGUMENT) for a cluster never initialised. */
  call(cluster: string, query: Buffer, token: number): number {
    const cfg = this.configs.get(cluster);
    const endpoint = this.endpoints.get(cluster);
    if (!cfg) return 2;
    this.inFlight++;
    const done = (t: number, status: number, reply: Buffer) => {
      this.inFlight--;
      this.deliver(t, status, reply);
    };
    if (!endpoint) {
      setImmediate(() => done(token, 1, Buffer.alloc(0)));
      return 0;
    }
    let c = this.connections.get(cluster);
    if (!c) {
      c = new Connection(endpoint, cfg, done);
      this.connections.set(cluster, c);
    }
    c.send(token, query);
    return 0;
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
