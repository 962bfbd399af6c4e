// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { DeferredFacts } from "../request/facts";
import { PinPolicy } from "../table/placement";
import { AssumedCluster, CHECK_EVERY } from "../request/assumed-cluster";
/** String containment with a useful failure: shows the whole actual string when `sub` is missing. */
export function expectContains(actual: string, sub: string): void {
  expect(actual.includes(sub) ? sub : actual).toBe(sub);
}

/** Fixed deferred facts: the cluster a request was routed to and the clock. */
export class FixedFacts extends DeferredFacts {
  constructor(
    private readonly clusterName: string | null,
    private readonly now: u64,
  ) {
    super();
  }
  cluster(): string | null {
    return this.clusterName;
  }
  nowMs(): u64 {
    return this.now;
  }
}

/**
 * Whether a worker reads its routed cluster on every keyed request: none of CHECK_EVERY * 4 more
 * requests, at a time within any refresh interval, may assume it.
 */
export function readsEveryRequest(c: AssumedCluster): bool {
  for (let i: u32 = 0; i < CHECK_EVERY * 4; i++) if (c.mayAssume(0)) return false;
  return true;
}

/** A placement that pins every new room to `target` and keeps every pin. */
export class PinEveryRoomTo extends PinPolicy {
  constructor(public target: string) {
    super();
  }
  keepsPin(address: string): bool {
    return true;
  }
  place(fp: u64): string {
    return this.target;
  }
}
