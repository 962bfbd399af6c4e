// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Higress: the upstream is pinned with proxy_set_upstream_override_host and membership is read from
// proxy_get_upstream_hosts (the routed cluster of the current stream). The host list is read at most
// once per tick period per thread per cluster, and published as a snapshot so the sweeper (which runs
// on a tick, outside any stream) knows which pods are present.
import { Platform, PinWriter, MembershipSource, DirectoryParts } from "./platform";
import { PluginConfig, DirectoryConfig } from "../config/config";
import { EtcdProtocol } from "../directory/etcd";
import { RedisProtocol } from "../directory/redis";
import { DirectoryRequest } from "../directory/protocol";
import { DirectoryHttpTransport } from "./directory-http";
import { RootDispatchTransport } from "./root-dispatch";
import { logError, utf8 } from "../abi/host";
import { PinBytes } from "./pin-bytes";
import { Membership, membershipFromHostPairs } from "../membership/membership";
import { SnapshotStore } from "../membership/snapshots";
import { Metrics } from "../plugin/metrics";
import { setUpstreamOverrideHost, getUpstreamHosts, redisInit, redisCall } from "../abi/higress";

export class OverrideHostPinWriter extends PinWriter {
  /** Each pod's address as the host wants it, encoded once (a handful of pods, a pin on every join). */
  private readonly encoded: PinBytes = new PinBytes(utf8);

  pin(address: string): void {
    setUpstreamOverrideHost(this.encoded.of(address));
  }
}

class CachedHosts {
  constructor(
    public atMs: u64,
    public members: Membership | null,
  ) {}
}

export class UpstreamHostsMembership extends MembershipSource {
  private cache: Map<string, CachedHosts> = new Map();

  constructor(
    public cacheMs: u64,
    public snapshots: SnapshotStore,
    public metrics: Metrics,
  ) {
    super();
  }

  observe(cluster: string, nowMs: u64): void {
    this.membersOf(cluster, nowMs);
  }

  /** The host list is read from a request of the cluster it labels, once per cache period. */
  observesEveryMs(): u64 {
    return this.cacheMs;
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

/** The room directory in Redis, through Higress's Redis host functions (they act on the root context). */
export class RedisTransport extends RootDispatchTransport {
  constructor(
    public config: DirectoryConfig,
    rootId: u32,
  ) {
    super(rootId);
    // As Higress's own plugins do: options travel on the cluster name at init; calls use the bare name.
    const ok = redisInit(
      config.cluster + "?db=" + config.database.toString() + "&buffer_flush_timeout=3&max_buffer_size_before_flush=1024",
      config.username,
      config.password,
      <u32>config.timeoutMs,
    );
    if (!ok) logError("room-affinity: Redis directory '" + config.cluster + "' could not be initialised; joins go on without it");
  }

  protected dispatch(request: DirectoryRequest): i64 {
    return redisCall(this.config.cluster, request.body);
  }
}

export class HigressPlatform extends Platform {
  directory(config: DirectoryConfig, rootId: u32): DirectoryParts {
    if (config.type == "redis") return new DirectoryParts(new RedisProtocol(), new RedisTransport(config, rootId));
    return new DirectoryParts(new EtcdProtocol(), new DirectoryHttpTransport(config, rootId));
  }

  pinWriter(config: PluginConfig): PinWriter {
    return new OverrideHostPinWriter();
  }
  membershipSource(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): MembershipSource {
    return new UpstreamHostsMembership(<u64>config.tickPeriodMs, snapshots, metrics);
  }
}
