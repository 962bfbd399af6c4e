// What differs between gateways, in two parts, each built once per plugin configuration by the build
// target's Platform: how a pin is written (PinWriter) and where membership comes from
// (MembershipSource). The request flow only talks to these.
import { Membership } from "../membership";
import { PluginConfig } from "../config";
import { SnapshotStore } from "../snapshots";
import { Metrics } from "../metrics";
import { MembershipView } from "../decision";

export abstract class PinWriter {
  /** Request-path contract, first thing on every request: drop client-supplied routing input. */
  sanitizeRequest(): void {}
  /** Request-path contract: route this request to `address` ("ip:port"). */
  abstract pin(address: string): void;
  /** Response-path contract: remove anything the pin mechanism echoes to the client. */
  sanitizeResponse(): void {}
}

export abstract class MembershipSource extends MembershipView {
  /** Request-path contract: the routed cluster's membership, or null while unknown. */
  abstract membersOf(cluster: string, nowMs: u64): Membership | null;
  /**
   * on_tick contract, lease holder only: start a membership refresh. Returns true if one was
   * dispatched asynchronously (onHttpCallResponse then reports its completion).
   */
  refresh(nowMs: u64): bool { return false; }
  /** on_http_call_response contract: returns true when this completed a membership refresh. */
  onHttpCallResponse(token: u32, bodySize: u32, nowMs: u64): bool { return false; }
}

/** Build-target contract: makes the two parts for one configuration. */
export abstract class Platform {
  abstract pinWriter(config: PluginConfig): PinWriter;
  abstract membershipSource(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): MembershipSource;
}
