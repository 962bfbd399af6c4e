// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The request's headers as the request hook reads them: all in one host call, or one host call per
// header. Which is cheaper depends on the traffic (request/header-plan.ts); callers see one interface.
import { MapType } from "./imports";
import { HostName, getHeaderBytes, getHeaderPairs, removeHeader } from "./host";
import { findPairValue } from "./pairs";

export class RequestHeaders {
  /** Every header (pairs.ts encoding) when read at once, else null. */
  private all: Uint8Array | null = null;

  /**
   * on_request_headers: starts a request's reads; with `allAtOnce`, reads every header now.
   * The values `get` returns stay valid until the hook returns (the next request reuses the bytes).
   */
  read(allAtOnce: bool): RequestHeaders {
    this.all = allAtOnce ? getHeaderPairs(MapType.HttpRequestHeaders) : null;
    return this;
  }

  /** The header's value, or null when the request has none. */
  get(name: HostName): Uint8Array | null {
    const all = this.all;
    return all != null ? findPairValue(all, name.bytes) : getHeaderBytes(MapType.HttpRequestHeaders, name);
  }

  /** False only when the header is known absent (all headers were read and it is not among them). */
  mayHave(name: HostName): bool {
    const all = this.all;
    return all == null || findPairValue(all, name.bytes) != null;
  }

  /** Removes a header the client may have sent; one known absent costs no host call. */
  remove(name: HostName): void {
    if (this.mayHave(name)) removeHeader(MapType.HttpRequestHeaders, name);
  }
}
