// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// How a table write treats an existing pin and where it puts a room. New rooms are placed by the
// gateway's load balancer (hashing on the room), never here: the table only records its choice
// (FixedPlacement) or reads pins (KeepPinsOnly).

/** Called by table.ts: answers, for a resolve, whether a pinned pod may keep its room and where a new room goes. */
export abstract class PinPolicy {
  /** The pinned pod is known to be usable (member, healthy or draining); false re-places the room. */
  abstract keepsPin(address: string): bool;
  /** The pod for a new (or re-placed) room, or "" if none can be chosen now. */
  abstract place(fingerprint: u64): string;
}

/** Reads: keeps any pin (the gateway judges whether it can honour it) and places nothing. */
export class KeepPinsOnly extends PinPolicy {
  keepsPin(address: string): bool {
    return true;
  }
  place(fingerprint: u64): string {
    return "";
  }
}

/** Keeps a pin only to `address`, and places the room there: what the room directory settled. */
export class SettledPlacement extends PinPolicy {
  constructor(public address: string) {
    super();
  }
  keepsPin(address: string): bool {
    return address == this.address;
  }
  place(fingerprint: u64): string {
    return this.address;
  }
}

/** Keeps any pin except one to `replaced`, and places new (or re-placed) rooms on `address`. */
export class FixedPlacement extends PinPolicy {
  constructor(
    public address: string,
    public replaced: string,
  ) {
    super();
  }
  keepsPin(address: string): bool {
    return address != this.replaced;
  }
  place(fingerprint: u64): string {
    return this.address;
  }
}
