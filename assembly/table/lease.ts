// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A CAS lease in the KvStore: on_tick fires on every root context of every worker thread, but only
// one of them should fetch membership and sweep the table. The holder renews each tick; if it goes
// away (VM replaced on config reload), the lease expires and another root context takes it over.
import { KvStore, WriteStatus } from "./store";

export class Lease {
  constructor(
    public store: KvStore,
    public key: string,
    public ownerId: string,
    public ttlMs: u64,
  ) {}

  /** on_tick: returns true if this owner holds the lease now (acquired, renewed or kept). */
  tryHold(nowMs: u64): bool {
    const sv = this.store.get(this.key);
    if (sv.value != null) {
      const text = String.UTF8.decodeUnsafe(sv.value!.dataStart, sv.value!.length);
      const sp = text.indexOf(" ");
      if (sp > 0) {
        const owner = text.substring(0, sp);
        const expires = U64.parseInt(text.substring(sp + 1));
        if (owner != this.ownerId && expires > nowMs) return false;
      }
    }
    const value = Uint8Array.wrap(String.UTF8.encode(this.ownerId + " " + (nowMs + this.ttlMs).toString()));
    // A missing key can only be written with cas 0, so two first takers may both think they won;
    // their next renewals are CAS-checked and one of them loses then.
    return this.store.set(this.key, value, sv.cas) == WriteStatus.Ok;
  }
}
