// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Demo game pod: a WebSocket server standing in for a game-server pod. On open it sends one JSON text
// frame {"pod","room"} so clients (tests, trial, benchmarks) see which pod they reached, and it keeps
// per-room player counts, served as JSON on GET /rooms. Run: node dist/tools/pod.js --id pod-1 --port 18001
import http from "node:http";
import { WebSocketServer, WebSocket } from "ws";

export interface PodOptions {
  id: string;
  host: string;
  port: number;
}

export interface PodStats {
  pod: string;
  players: number;
  rooms: Record<string, number>;
  connectionsTotal: number;
}

export function roomOf(url: string | undefined): string {
  const q = new URL(url ?? "/", "http://pod").searchParams;
  return `${q.get("appId") ?? ""}:${q.get("roomId") ?? ""}`;
}

/** Starts a pod in this process; resolves once it listens. */
export function startPod(opts: PodOptions): Promise<{ server: http.Server; stats: () => PodStats; close: () => Promise<void> }> {
  const rooms = new Map<string, number>();
  let players = 0;
  let connectionsTotal = 0;
  const stats = (): PodStats => ({ pod: opts.id, players, rooms: Object.fromEntries(rooms), connectionsTotal });

  const server = http.createServer((req, res) => {
    if (req.url === "/rooms" || req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(stats()));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ pod: opts.id, path: req.url }));
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws: WebSocket, req) => {
    const room = roomOf(req.url);
    players++;
    connectionsTotal++;
    rooms.set(room, (rooms.get(room) ?? 0) + 1);
    ws.send(JSON.stringify({ pod: opts.id, room }));
    ws.on("message", (data) => ws.send(data)); // echo: lets clients check the socket is alive
    ws.on("close", () => {
      players--;
      const n = (rooms.get(room) ?? 1) - 1;
      if (n <= 0) rooms.delete(room);
      else rooms.set(room, n);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () =>
      resolve({
        server,
        stats,
        close: () =>
          new Promise<void>((r) => {
            for (const c of wss.clients) c.terminate();
            wss.close();
            server.close(() => r());
          }),
      }),
    );
  });
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

if (require.main === module) {
  const opts = { id: arg("id", "pod-1"), host: arg("host", "127.0.0.1"), port: Number(arg("port", "18001")) };
  startPod(opts).then(
    () => console.log(`pod ${opts.id} listening on ${opts.host}:${opts.port}`),
    (e) => {
      console.error(`pod ${opts.id}: ${e}`);
      process.exit(1);
    },
  );
  process.on("SIGTERM", () => process.exit(0));
  // A pod whose runner died (an interrupted benchmark or test) exits rather than keep its port.
  const runner = process.ppid;
  setInterval(() => {
    if (process.ppid !== runner) process.exit(0);
  }, 1000).unref();
}
