// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Plain HTTP requests with a timeout, for admin interfaces, pods, etcd and probes.
import http from "node:http";

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpRequest(
  host: string,
  port: number,
  method: string,
  urlPath: string,
  body: string | null,
  timeoutMs = 3000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, path: urlPath, method, timeout: timeoutMs, headers: body === null ? {} : { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

export function httpGet(host: string, port: number, urlPath: string, timeoutMs = 3000): Promise<HttpReply> {
  return httpRequest(host, port, "GET", urlPath, null, timeoutMs);
}
