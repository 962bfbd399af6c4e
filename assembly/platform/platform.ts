// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What differs between gateways, in two parts, each built once per plugin configuration by the build
// target's Platform: how a pin is written (PinWriter) and where membership comes from
// (MembershipSource). The request flow only talks to these.
import { PluginConfig, DirectoryConfig } from "../config/config";
import { DirectoryProtocol } from "../directory/protocol";
import { DirectoryTransport } from "../directory/directory";
import { SnapshotStore } from "../membership/snapshots";
import { Metrics } from "../plugin/metrics";
import { RequestHeaders } from "../abi/request-headers";

export abstract class PinWriter {
  /**
   * on_request_headers, on every request the plugin does not pin: drop client-supplied routing
   * input.
   */
  sanitizeRequest(headers: RequestHeaders): void {}
  /** on_request_headers: route this request to `address` ("ip:port"). */
  abstract pin(address: string): void;
  /**
   * on_response_headers, for a pinned stream: true when the pin mechanism says, without a property
   * read, that the pin held. Stock Envoy: stateful_session echoes a host in its header only when it
   * used another one than the pin, so no echo means the pin held -- provided it reads our header,
   * which the hook checks on a sample. false where the mechanism cannot tell (the hook then reads the
   * upstream address).
   */
  pinHeld(): bool {
    return false;
  }
  /** on_response_headers: remove anything the pin mechanism echoes to the client. */
  sanitizeResponse(): void {}
}

export abstract class MembershipSource {
  /**
   * on_request_headers: a keyed request is routed to `cluster`. A source that reads membership
   * from the stream (Higress) refreshes its snapshot here; others do nothing.
   */
  observe(cluster: string, nowMs: u64): void {}
  /**
   * on_configure: how often (ms) a request must read its routed cluster so `observe` sees it
   * (0: never; the request path may otherwise assume the cluster, see assumed-cluster.ts).
   */
  observesEveryMs(): u64 {
    return 0;
  }
  /**
   * on_tick, lease holder only: start a membership refresh. Returns true if one was
   * dispatched asynchronously (onHttpCallResponse then reports its completion).
   */
  refresh(nowMs: u64): bool {
    return false;
  }
  /** on_http_call_response: returns true when this completed a membership refresh. */
  onHttpCallResponse(token: u32, bodySize: u32, nowMs: u64): bool {
    return false;
  }
}

/** How the room directory is spoken to (its protocol) and reached (its transport). */
export class DirectoryParts {
  constructor(
    public protocol: DirectoryProtocol,
    public transport: DirectoryTransport,
  ) {}
}

/** Called by the build target: makes the parts for one configuration. */
export abstract class Platform {
  /** on_configure: "" if this gateway can run `config`, else why not (the configuration fails). */
  check(config: PluginConfig): string {
    return "";
  }
  abstract pinWriter(config: PluginConfig): PinWriter;
  abstract membershipSource(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): MembershipSource;
  /** The directory's protocol and transport, dispatching from root context `rootId`. */
  abstract directory(config: DirectoryConfig, rootId: u32): DirectoryParts;
}
