// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// fallbackHeader: with each pin, the pods the room goes to if its pod fails the join, in order
// ("ip:port,ip:port,..."). Envoy's override_host load-balancing policy reads it on the retries the
// route makes, so every gateway retries a room's players onto the same pod.
import { MapType } from "../abi/imports";
import { replaceHeaderBytes, removeHeader, HostName } from "../abi/host";
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

  /** on_request_headers, a join pinned to `pinned`: the room's next pods, or no header when none is known. */
  write(fingerprint: u64, pinned: string, nowMs: u64): void {
    const packed = this.ranking.next(fingerprint, pinned, nowMs, this.ranked);
    if (packed == 0) {
      this.remove();
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

  /** on_request_headers, a request the plugin does not pin: a client must not choose pods through it. */
  remove(): void {
    removeHeader(MapType.HttpRequestHeaders, this.name);
  }
}
