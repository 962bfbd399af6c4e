// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Pod addresses as strings, made once per pod: a join of a pinned room finds its pod's address as
// bytes in a bucket, and the few pods a gateway routes to recur on every join, so a slot keyed by the
// bytes hands back the string made the first time instead of decoding one per join. The same string
// object for the same pod also lets what is derived from it be cached by identity (platform/pin-bytes.ts).
import { hashBytesRaw } from "../support/hash";

/** Slots (a power of two): far more than the pods of a cluster. */
const SLOTS: i32 = 256;
/** Names held before all are dropped (pods come and go), keeping probe runs short. */
const MOST_HELD: i32 = (SLOTS * 3) / 4;

export class AddressNames {
  private readonly bytes: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private readonly names: StaticArray<string | null> = new StaticArray<string | null>(SLOTS);
  private held: i32 = 0;

  /**
   * on_request_headers (table.ts): the address whose UTF-8 bytes are `length` bytes at `ptr`;
   * the same string object for the same bytes until MOST_HELD addresses have been seen.
   */
  nameAt(ptr: usize, length: i32): string {
    const home = <i32>(hashBytesRaw(ptr, <usize>length) & <u64>(SLOTS - 1));
    let slot = home;
    while (true) {
      const held = unchecked(this.bytes[slot]);
      if (held == null) break;
      if (held.byteLength == length && memory.compare(changetype<usize>(held), ptr, <usize>length) == 0) {
        return unchecked(this.names[slot])!;
      }
      slot = (slot + 1) & (SLOTS - 1);
    }
    if (this.held == MOST_HELD) {
      this.bytes.fill(null);
      this.names.fill(null);
      this.held = 0;
      slot = home;
    }
    const name = String.UTF8.decodeUnsafe(ptr, <usize>length);
    const copy = new ArrayBuffer(length);
    memory.copy(changetype<usize>(copy), ptr, <usize>length);
    unchecked((this.bytes[slot] = copy));
    unchecked((this.names[slot] = name));
    this.held++;
    return name;
  }
}
