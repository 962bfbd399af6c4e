// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// WebSocket players: connect through the gateway and report which pod answered.
import WebSocket from "ws";

export interface Joined {
  pod: string;
  room: string;
  ws: WebSocket;
}

export interface JoinOptions {
  /** Source address on the loopback range (127.0.0.x) to look like a player on another network. */
  localAddress?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Opens a WebSocket and resolves with the pod's greeting; rejects on an HTTP error (status in message). */
export function join(url: string, opts: JoinOptions = {}): Promise<Joined> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: opts.localAddress, headers: opts.headers, handshakeTimeout: opts.timeoutMs ?? 10000 });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: no greeting within ${opts.timeoutMs ?? 10000} ms`));
    }, opts.timeoutMs ?? 10000);
    ws.once("message", (data) => {
      clearTimeout(timer);
      try {
        const m = JSON.parse(String(data));
        resolve({ pod: m.pod, room: m.room, ws });
      } catch (e) {
        reject(e);
      }
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => reject(new HttpRejection(res.statusCode ?? 0, body)));
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The body of the plugin's refusal of a player whose room was just recorded on another pod (503). */
export const ROOM_ELSEWHERE_BODY = "room is on another pod";

export class HttpRejection extends Error {
  constructor(
    public status: number,
    public body: string,
  ) {
    super(`HTTP ${status}: ${body.trim()}`);
  }
}

export function closeAll(sockets: { ws: WebSocket }[]): Promise<void> {
  return Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((r) => {
          if (s.ws.readyState === WebSocket.CLOSED) return r();
          s.ws.once("close", () => r());
          s.ws.close();
          setTimeout(() => {
            s.ws.terminate();
            r();
          }, 2000);
        }),
    ),
  ).then(() => undefined);
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * A browser's WebSocket handshake headers (user agent, origin, WebSocket keys, language) with
 * `cookies` cookies of 40-odd bytes each: what a real join carries besides its path.
 */
export function browserHeaders(cookies: number, cookieValueBytes = 40): Record<string, string> {
  return {
    "user-agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    origin: "https://game.example.com",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
    "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
    "accept-language": "zh-CN,zh;q=0.9,en;q=0.8",
    cookie: Array.from({ length: cookies }, (_, i) => `c${i}=${"v".repeat(cookieValueBytes)}`).join("; "),
  };
}
