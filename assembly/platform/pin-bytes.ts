// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The bytes a pin hands the host, encoded once per pod: every join pins its room's pod, and the table
// hands back one string object per pod (table/addresses.ts), so the string's identity finds its bytes
// without hashing its text or encoding anything.

/** Slots (a power of two): far more than the pods of a cluster. */
const SLOT_BITS: u32 = 6;
const SLOTS: i32 = 1 << SLOT_BITS;
/** Strings held before all are dropped (pods come and go), keeping probe runs short. */
const MOST_HELD: i32 = (SLOTS * 3) / 4;

export class PinBytes {
  private readonly addresses: StaticArray<string | null> = new StaticArray<string | null>(SLOTS);
  private readonly encoded: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private held: i32 = 0;

  /** `encode`: what the host wants for an address (a top-level function: it is called for each new pod). */
  constructor(private readonly encode: (address: string) => ArrayBuffer) {}

  /** The pin's bytes for `address`, encoded the first time this string object is seen. */
  of(address: string): ArrayBuffer {
    // Held strings stay alive, so no other string can be allocated at a held one's address.
    const ptr = changetype<usize>(address);
    let slot = slotOf(ptr);
    while (true) {
      const held = unchecked(this.addresses[slot]);
      if (held == null) break;
      if (changetype<usize>(held) == ptr) return unchecked(this.encoded[slot])!;
      slot = (slot + 1) & (SLOTS - 1);
    }
    if (this.held == MOST_HELD) {
      this.addresses.fill(null);
      this.encoded.fill(null);
      this.held = 0;
      slot = slotOf(ptr);
    }
    const bytes = this.encode(address);
    unchecked((this.addresses[slot] = address));
    unchecked((this.encoded[slot] = bytes));
    this.held++;
    return bytes;
  }
}

/** Fibonacci hashing of the string's address: neighbouring allocations land far apart. */
function slotOf(ptr: usize): i32 {
  return <i32>((<u32>(ptr >> 2) * 0x9e3779b1) >> (32 - SLOT_BITS));
}
