// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room directory's transport to etcd, on both builds: an HTTP call to the directory's cluster,
// dispatched from the root context (root-dispatch.ts).
import { RootDispatchTransport } from "./root-dispatch";
import { DirectoryRequest } from "../directory/protocol";
import { DirectoryConfig } from "../config/config";
import { httpCall } from "../abi/host";

export class DirectoryHttpTransport extends RootDispatchTransport {
  private headers: string[][];

  constructor(
    public config: DirectoryConfig,
    rootId: u32,
  ) {
    super(rootId);
    const h: string[][] = [
      [":method", "POST"],
      [":path", ""],
      [":authority", config.authority],
      ["content-type", "application/json"],
    ];
    if (config.token.length > 0) h.push(["authorization", config.token]);
    this.headers = h;
  }

  protected dispatch(request: DirectoryRequest): i64 {
    this.headers[1][1] = request.path;
    return httpCall(this.config.cluster, this.headers, <u32>this.config.timeoutMs, request.body);
  }
}
