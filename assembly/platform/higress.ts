// Higress: the upstream is pinned with proxy_set_upstream_override_host and membership is read from
// proxy_get_upstream_hosts (the routed cluster of the current stream). The host list is cached per
// thread per cluster for one tick period, and published as a snapshot so the sweeper (which runs on a
// tick, outside any stream) knows which pods are present.
import { Platform } from "./platform";
import { PluginConfig } from "../config";
import { Membership, membershipFromHostPairs } from "../membership";
import { SnapshotStore } from "../snapshots";
import { Metrics } from "../metrics";
import { decodePairs } from "../abi/host";
import { proxy_set_upstream_override_host, proxy_get_upstream_hosts } from "../abi/higress-imports";

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);

class CachedHosts {
  constructor(public atMs: u64, public members: Membership | null) {}
}

export class HigressPlatform extends Platform {
  cache: Map<string, CachedHosts> = new Map();
  snapshots: SnapshotStore | null = null;
  metrics: Metrics | null = null;

  configure(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): void {
    this.snapshots = snapshots;
    this.metrics = metrics;
    this.cache.clear();
  }

  pin(config: PluginConfig, address: string): void {
    const a = String.UTF8.encode(address);
    proxy_set_upstream_override_host(changetype<usize>(a), a.byteLength);
  }

  membership(config: PluginConfig, cluster: string, nowMs: u64): Membership | null {
    if (this.cache.has(cluster)) {
      const c = this.cache.get(cluster);
      if (nowMs - c.atMs < <u64>config.tickPeriodMs) return c.members;
    }
    let members: Membership | null = null;
    if (proxy_get_upstream_hosts(RET_PTR, RET_SIZE) == 0) {
      const ptr = load<usize>(RET_PTR);
      const size = load<usize>(RET_SIZE);
      const raw = new Uint8Array(<i32>size);
      if (size > 0) memory.copy(raw.dataStart, ptr, size);
      if (ptr != 0) heap.free(ptr);
      const pairs = decodePairs(raw);
      if (pairs != null && pairs.length > 0) members = membershipFromHostPairs(pairs);
    }
    this.cache.set(cluster, new CachedHosts(nowMs, members));
    if (members != null && this.snapshots != null) {
      this.snapshots!.publish(cluster, members, nowMs);
      const m = this.metrics!;
      m.set(m.membershipHosts, <u64>members.size);
      m.set(m.membershipEligibleHosts, <u64>members.eligibleCount());
    }
    return members;
  }
}
