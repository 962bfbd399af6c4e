// Higress: the upstream is pinned with proxy_set_upstream_override_host and membership is read from
// proxy_get_upstream_hosts (the routed cluster of the current stream). The host list is read at most
// once per tick period per thread per cluster, and published as a snapshot so the sweeper (which runs
// on a tick, outside any stream) knows which pods are present.
import { Platform, PinWriter, MembershipSource } from "./platform";
import { PluginConfig } from "../config";
import { Membership, membershipFromHostPairs } from "../membership";
import { SnapshotStore } from "../snapshots";
import { Metrics } from "../metrics";
import { setUpstreamOverrideHost, getUpstreamHosts } from "../abi/higress";

export class OverrideHostPinWriter extends PinWriter {
  pin(address: string): void {
    setUpstreamOverrideHost(address);
  }
}

class CachedHosts {
  constructor(public atMs: u64, public members: Membership | null) {}
}

export class UpstreamHostsMembership extends MembershipSource {
  private cache: Map<string, CachedHosts> = new Map();

  constructor(public cacheMs: u64, public snapshots: SnapshotStore, public metrics: Metrics) { super(); }

  observe(cluster: string, nowMs: u64): void {
    this.membersOf(cluster, nowMs);
  }

  /** The routed cluster's hosts, read at most once per cache period per thread. */
  private membersOf(cluster: string, nowMs: u64): Membership | null {
    if (this.cache.has(cluster)) {
      const c = this.cache.get(cluster);
      if (nowMs - c.atMs < this.cacheMs) return c.members;
    }
    let members: Membership | null = null;
    const pairs = getUpstreamHosts();
    if (pairs != null && pairs.length > 0) members = membershipFromHostPairs(pairs);
    this.cache.set(cluster, new CachedHosts(nowMs, members));
    if (members != null) {
      this.snapshots.publish(cluster, members, nowMs);
      const m = this.metrics;
      m.set(m.membershipHosts, <u64>members.size);
      m.set(m.membershipEligibleHosts, <u64>members.eligibleCount());
    }
    return members;
  }
}

export class HigressPlatform extends Platform {
  pinWriter(config: PluginConfig): PinWriter {
    return new OverrideHostPinWriter();
  }
  membershipSource(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): MembershipSource {
    return new UpstreamHostsMembership(<u64>config.tickPeriodMs, snapshots, metrics);
  }
}
