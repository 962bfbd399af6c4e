// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Pod addresses as strings, made once per pod: a join of a pinned room finds its pod's address as
// bytes in a bucket, and the few pods a gateway routes to recur on every join, so a slot keyed by the
// bytes hands back the string made the first time instead of decoding one per join.
import { hashBytesRaw } from "../support/hash";

/** Slots (a power of two): far more than the pods of a cluster, so pods rarely share one. */
const SLOTS: i32 = 256;

export class AddressNames {
  private readonly bytes: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(SLOTS);
  private readonly names: StaticArray<string | null> = new StaticArray<string | null>(SLOTS);

  /**
   * on_request_headers (table.ts): the address whose UTF-8 bytes are `length` bytes at `ptr`;
   * the same string object for the same bytes while they keep their slot.
   */
  nameAt(ptr: usize, length: i32): string {
    const slot = <i32>(hashBytesRaw(ptr, <usize>length) & <u64>(SLOTS - 1));
    const held = unchecked(this.bytes[slot]);
    if (held != null && held.byteLength == length && memory.compare(changetype<usize>(held), ptr, <usize>length) == 0) {
      return unchecked(this.names[slot])!;
    }
    const name = String.UTF8.decodeUnsafe(ptr, <usize>length);
    const copy = new ArrayBuffer(length);
    memory.copy(changetype<usize>(copy), ptr, <usize>length);
    unchecked((this.bytes[slot] = copy));
    unchecked((this.names[slot] = name));
    return name;
  }
}
