// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Stock Envoy: the upstream is pinned through envoy.filters.http.stateful_session with header-based
// session state (base64 "ip:port"); Envoy checks membership and override_host_status itself. Membership
// comes from the admin /clusters?format=json, fetched by the lease holder through a static cluster
// pointing at the admin listener, and published as snapshots in shared data for every thread.
import { Platform, PinWriter, MembershipSource, DirectoryParts } from "./platform";
import { PluginConfig, DirectoryConfig } from "../config/config";
import { EtcdProtocol } from "../directory/etcd";
import { DirectoryHttpTransport } from "./directory-http";
import { parseAdminClusters } from "../membership/membership";
import { SnapshotStore } from "../membership/snapshots";
import { base64Encode } from "../support/base64";
import { PinBytes } from "./pin-bytes";
import { Metrics } from "../plugin/metrics";
import { RequestHeaders } from "../abi/request-headers";
import { LogOnce } from "../abi/log-once";
import { MapType, BufferType } from "../abi/imports";
import {
  replaceHeaderBytes,
  removeHeader,
  httpCall,
  getBuffer,
  getHeader,
  getHeaderBytes,
  logInfo,
  HostName,
  STATUS_HEADER,
} from "../abi/host";

const ADMIN_TIMEOUT_MS: u32 = 2000;

/** stateful_session's header-based session state: the host's address, base64. */
function sessionHeaderValue(address: string): ArrayBuffer {
  return String.UTF8.encode(base64Encode(address));
}

/** Writes the pin into stateful_session's header; removes any client-sent or echoed value. */
export class SessionHeaderPinWriter extends PinWriter {
  /** base64 of each pod address, encoded for the host once (a handful of pods, a pin on every join). */
  private readonly encoded: PinBytes = new PinBytes(sessionHeaderValue);

  private readonly name: HostName;

  constructor(public header: string) {
    super();
    this.name = new HostName(header);
  }

  sanitizeRequest(headers: RequestHeaders): void {
    // stateful_session would honour a client-sent pin; only the plugin may set it.
    headers.remove(this.name);
  }

  pin(address: string): void {
    replaceHeaderBytes(MapType.HttpRequestHeaders, this.name, this.encoded.of(address));
  }

  pinHeld(): bool {
    return getHeaderBytes(MapType.HttpResponseHeaders, this.name) == null;
  }

  sanitizeResponse(): void {
    // stateful_session echoes the chosen host (base64 ip:port); pod addresses are not the client's business.
    removeHeader(MapType.HttpResponseHeaders, this.name);
  }
}

/** Membership from the admin /clusters JSON, fetched by the lease holder and shared as snapshots. */
export class AdminMembershipSource extends MembershipSource {
  private inFlightToken: i64 = -1;
  private inFlightSinceMs: u64 = 0;
  /** Each failure message once, until a fetch succeeds. */
  private readonly failures: LogOnce = new LogOnce();

  constructor(
    public adminCluster: string,
    public snapshots: SnapshotStore,
    public metrics: Metrics,
  ) {
    super();
  }

  refresh(nowMs: u64): bool {
    if (this.adminCluster.length == 0) return false;
    if (this.inFlightToken >= 0 && nowMs - this.inFlightSinceMs < <u64>ADMIN_TIMEOUT_MS * 2) return true;
    const token = httpCall(
      this.adminCluster,
      [
        [":method", "GET"],
        [":path", "/clusters?format=json"],
        [":authority", "envoy-admin"],
      ],
      ADMIN_TIMEOUT_MS,
    );
    if (token < 0) {
      this.fail("cannot call admin cluster '" + this.adminCluster + "' (is it defined as a static cluster?)");
      return false;
    }
    this.inFlightToken = token;
    this.inFlightSinceMs = nowMs;
    return true;
  }

  onHttpCallResponse(token: u32, bodySize: u32, nowMs: u64): bool {
    if (<i64>token != this.inFlightToken) return false;
    this.inFlightToken = -1;
    const status = getHeader(MapType.HttpCallResponseHeaders, STATUS_HEADER);
    if (status == null || status != "200") {
      this.fail("admin /clusters answered " + (status == null ? "nothing (timeout or connection failure)" : status));
      return false;
    }
    const body = getBuffer(BufferType.HttpCallResponseBody, bodySize);
    if (body == null) {
      this.fail("admin /clusters: empty body");
      return false;
    }
    const parsed = parseAdminClusters(body, this.adminCluster);
    if (parsed.error.length > 0) {
      this.fail(parsed.error);
      return false;
    }
    let hosts: u64 = 0;
    let eligible: u64 = 0;
    for (let i = 0; i < parsed.clusters.length; i++) {
      const c = parsed.clusters[i];
      if (this.snapshots.publish(c.cluster, c.members, nowMs)) {
        logInfo(
          "room-affinity: membership of cluster '" +
            c.cluster +
            "': " +
            c.members.size.toString() +
            " hosts, " +
            c.members.eligibleCount().toString() +
            " take new rooms",
        );
      }
      hosts += <u64>c.members.size;
      eligible += <u64>c.members.eligibleCount();
    }
    const m = this.metrics;
    m.inc(m.membershipFetches);
    m.set(m.membershipHosts, hosts);
    m.set(m.membershipEligibleHosts, eligible);
    this.failures.forgetAll();
    return true;
  }

  private fail(message: string): void {
    this.metrics.inc(this.metrics.membershipFetchFailures);
    this.failures.warn(message, "membership fetch failed: " + message);
  }
}

export class StockEnvoyPlatform extends Platform {
  check(config: PluginConfig): string {
    const d = config.directory;
    if (d != null && d!.type == "redis") {
      return (
        'invalid config field \'directory.type\': expected "etcd" on stock Envoy, got "redis" ' +
        "(Redis needs the Higress build, which has Higress's Redis host functions)"
      );
    }
    return "";
  }
  directory(config: DirectoryConfig, rootId: u32): DirectoryParts {
    return new DirectoryParts(new EtcdProtocol(), new DirectoryHttpTransport(config, rootId));
  }
  pinWriter(config: PluginConfig): PinWriter {
    return new SessionHeaderPinWriter(config.pinHeader);
  }
  membershipSource(config: PluginConfig, snapshots: SnapshotStore, metrics: Metrics): MembershipSource {
    return new AdminMembershipSource(config.adminCluster, snapshots, metrics);
  }
}
