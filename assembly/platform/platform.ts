// What differs between gateways: how the upstream host is overridden and where membership comes from.
// One implementation per build target (platform/envoy.ts, platform/higress.ts); the plugin logic
// only talks to this interface.
import { Membership } from "../membership";
import { PluginConfig } from "../config";
import { SnapshotStore } from "../snapshots";
import { Metrics } from "../metrics";

export abstract class Platform {
  /** on_configure contract: (re)start for a new configuration; snapshots are shared across threads. */
  configure(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): void {}
  /** Request-path contract, first thing on every request: drop client-supplied routing input. */
  sanitizeRequest(config: PluginConfig): void {}
  /** Request-path contract: route this request to `address` ("ip:port"). */
  abstract pin(config: PluginConfig, address: string): void;
  /** Response-path contract: remove anything the pin mechanism echoes to the client. */
  sanitizeResponse(config: PluginConfig): void {}
  /** Request-path contract: the routed cluster's membership, or null while unknown. */
  abstract membership(config: PluginConfig, cluster: string, nowMs: u64): Membership | null;
  /**
   * on_tick contract, lease holder only: start a membership refresh. Returns true if one was
   * dispatched asynchronously (onHttpCallResponse then reports its completion).
   */
  refreshMembership(config: PluginConfig, nowMs: u64): bool { return false; }
  /** on_http_call_response contract: returns true when this completed a membership refresh. */
  onHttpCallResponse(config: PluginConfig, token: u32, bodySize: u32, nowMs: u64): bool { return false; }
}
