// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What a decision reads: the facts of a request (some read from the host only when needed) and what a
// stream keeps from its request phase for its response phase.

/**
 * Facts a decision may not need, read from the host only when it does: a request without a complete
 * key never reads the routed cluster (the costliest read), and a response whose pin held never reads
 * the clock. The hook's implementation reads the host; tests use fixed values.
 */
export abstract class DeferredFacts {
  /** The routed cluster, or null when the host does not say. */
  abstract cluster(): string | null;
  abstract nowMs(): u64;
}

/** What the request hook read from the host, and where to read the rest if the decision needs it. */
export class RequestFacts {
  /**
   * Raw `:path` bytes, query included: `pathBytes[pathStart, pathEnd)`, a range of the bytes the
   * headers were read into (no copy, no view); valid until the hook returns.
   */
  pathBytes: Uint8Array = EMPTY_PATH;
  pathStart: i32 = 0;
  pathEnd: i32 = 0;
  set path(v: Uint8Array) {
    this.setPath(v, 0, v.length);
  }
  setPath(bytes: Uint8Array, start: i32, end: i32): void {
    this.pathBytes = bytes;
    this.pathStart = start;
    this.pathEnd = end;
  }
  isWebSocket: bool = false;
  /** Route name and host (port stripped); read only when `_rules_` exist. */
  routeName: string = "";
  host: string = "";
  /** The source of `cluster` and `nowMs` until they are set or read. */
  deferred: DeferredFacts | null = null;
  private clusterValue: string | null = null;
  private clusterKnown: bool = false;
  /** Whether the routed cluster was read (or set): what the cluster-labelled membership needs. */
  get clusterRead(): bool {
    return this.clusterKnown;
  }
  private nowValue: u64 = 0;
  private nowKnown: bool = false;

  /** Empties the facts for the next request (one object serves every request of a worker). */
  reset(deferred: DeferredFacts | null): RequestFacts {
    this.pathBytes = EMPTY_PATH;
    this.pathStart = 0;
    this.pathEnd = 0;
    this.isWebSocket = false;
    this.routeName = "";
    this.host = "";
    this.deferred = deferred;
    this.clusterValue = null;
    this.clusterKnown = false;
    this.nowValue = 0;
    this.nowKnown = false;
    return this;
  }

  /** The routed cluster (read at most once). */
  get cluster(): string | null {
    if (!this.clusterKnown) {
      this.clusterKnown = true;
      const d = this.deferred;
      if (d != null) this.clusterValue = d.cluster();
    }
    return this.clusterValue;
  }
  set cluster(v: string | null) {
    this.clusterValue = v;
    this.clusterKnown = true;
  }

  get nowMs(): u64 {
    if (!this.nowKnown) {
      this.nowKnown = true;
      const d = this.deferred;
      if (d != null) this.nowValue = d.nowMs();
    }
    return this.nowValue;
  }
  set nowMs(v: u64) {
    this.nowValue = v;
    this.nowKnown = true;
  }
}
const EMPTY_PATH = new Uint8Array(0);

/** What a stream remembers from its request phase for its response phase. */
export class StreamState {
  fingerprint: u64 = 0;
  /** The room key's hash: the fingerprint again under the real cluster if the assumed one was wrong. */
  keyHash: u64 = 0;
  /** The fingerprint was made with an assumed cluster: checked if the pin is not honoured. */
  assumedCluster: bool = false;
  /** The address this request was pinned to ("" if none), checked against the actual upstream. */
  pinned: string = "";
  learning: bool = false;
  /** A WebSocket upgrade: only a 101 confirms its pod. */
  upgrade: bool = false;
}
