// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// fallbackHeader: a room's pods in the order the gateway tries them ("ip:port,ip:port,..."). Envoy's
// override_host load-balancing policy reads it: a new room goes to the first, a pinned room's retries
// to the ones after its pod, so every gateway places and retries a room's players onto the same pod.
import { MapType } from "../abi/imports";
import { replaceHeaderBytes, removeHeader, HostName } from "../abi/host";
import { RequestHeaders } from "../abi/request-headers";
import { Membership } from "../membership/membership";
import { PodRanking } from "../membership/ranking";

/** Header values kept per membership: one per distinct ranking seen (a few per pod). */
const MAX_VALUES: i32 = 4096;

export class FallbackHeader {
  private readonly name: HostName;
  private readonly ranked: string[] = [];
  private values: Map<u64, ArrayBuffer> = new Map();
  private valuesFor: Membership | null = null;

  constructor(
    header: string,
    private readonly ranking: PodRanking,
  ) {
    this.name = new HostName(header);
  }

  /**
   * on_request_headers, a join pinned to `pinned`: the room's next pods, or no header when none is known.
   * `headers`: the request's headers as read, or null when they may have changed since.
   */
  writeForPin(fingerprint: u64, pinned: string, nowMs: u64, headers: RequestHeaders | null): void {
    this.write(this.ranking.next(fingerprint, pinned, nowMs, this.ranked), headers);
  }

  /**
   * on_request_headers, a join of a room no pod has yet: its pods in `cluster` (the first places it), or
   * no header when the membership is not known, and the gateway's hash places it.
   */
  writeForNewRoom(fingerprint: u64, cluster: string, headers: RequestHeaders): void {
    this.write(this.ranking.first(fingerprint, cluster, this.ranked), headers);
  }

  private write(packed: u64, headers: RequestHeaders | null): void {
    if (packed == 0) {
      this.remove(headers);
      return;
    }
    const members = this.ranking.members;
    if (this.valuesFor !== members) {
      this.values.clear();
      this.valuesFor = members;
    }
    let value: ArrayBuffer;
    if (this.values.has(packed)) value = this.values.get(packed);
    else {
      value = String.UTF8.encode(this.ranked.join(","));
      if (this.values.size < MAX_VALUES) this.values.set(packed, value);
    }
    replaceHeaderBytes(MapType.HttpRequestHeaders, this.name, value);
  }

  /**
   * on_request_headers, a request the plugin does not place: a client must not choose pods through it.
   * Removed only if the client sent it, as far as `headers` (null: not known) shows.
   */
  remove(headers: RequestHeaders | null): void {
    if (headers != null) headers.remove(this.name);
    else removeHeader(MapType.HttpRequestHeaders, this.name);
  }
}
