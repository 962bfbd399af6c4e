// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The request's headers as the request hook reads them: all in one host call, or one host call per
// header. Which is cheaper depends on the traffic (request/header-plan.ts); callers see one interface.
// A join reads them on every request, so finding a value allocates nothing: it says where the value lies.
import { MapType } from "./imports";
import { HeaderBlock, HostName, getHeaderBytes, readHeaderPairs, removeHeader } from "./host";
import { ValueSpan, locatePairValue } from "./pairs";

const NO_BYTES = new Uint8Array(0);

export class RequestHeaders {
  /** Every header (pairs.ts encoding) when read at once. */
  private readonly block: HeaderBlock = new HeaderBlock();
  private allRead: bool = false;
  /** What the last `find` found: the value is `bytes[at.start, at.end)`, valid until the hook returns. */
  bytes: Uint8Array = NO_BYTES;
  readonly at: ValueSpan = new ValueSpan();
  /** Where mayHave found a value, kept apart so it never moves what `find` found. */
  private readonly seen: ValueSpan = new ValueSpan();

  /**
   * on_request_headers: starts a request's reads; with `allAtOnce`, reads every header now.
   * The values found stay valid until the hook returns (the next request reuses the bytes).
   */
  read(allAtOnce: bool): RequestHeaders {
    this.allRead = allAtOnce && readHeaderPairs(MapType.HttpRequestHeaders, this.block);
    return this;
  }

  /** Whether the request has the header; if so, `bytes` and `at` say where its value is. */
  find(name: HostName): bool {
    if (this.allRead) {
      if (!locatePairValue(this.block.bytes, this.block.size, name.bytes, this.at)) return false;
      this.bytes = this.block.bytes;
      return true;
    }
    const v = getHeaderBytes(MapType.HttpRequestHeaders, name);
    if (v == null) return false;
    this.bytes = v;
    this.at.start = 0;
    this.at.end = v.length;
    return true;
  }

  /** The header's value (a view, which allocates: for reads off the join path), or null when the request has none. */
  get(name: HostName): Uint8Array | null {
    return this.find(name) ? this.bytes.subarray(this.at.start, this.at.end) : null;
  }

  /** False only when the header is known absent (all headers were read and it is not among them). */
  mayHave(name: HostName): bool {
    return !this.allRead || locatePairValue(this.block.bytes, this.block.size, name.bytes, this.seen);
  }

  /** Removes a header the client may have sent; one known absent costs no host call. */
  remove(name: HostName): void {
    if (this.mayHave(name)) removeHeader(MapType.HttpRequestHeaders, name);
  }
}
