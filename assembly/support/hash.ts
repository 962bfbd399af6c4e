// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// 64-bit hashing: the room fingerprint (bucket choice, entry identity, the gateway's hash header).
// FNV-1a over bytes followed by the murmur3 finalizer: cheap, and the finalizer spreads FNV's weak low bits.

/** Murmur3 fmix64: a bijective avalanche mix. */
export function mix64(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x;
}

export function hashBytesRaw(ptr: usize, len: usize): u64 {
  let h: u64 = 0xcbf29ce484222325;
  for (let i: usize = 0; i < len; i++) {
    h ^= <u64>load<u8>(ptr + i);
    h *= 0x100000001b3;
  }
  return mix64(h ^ <u64>len);
}

export function hashBytes(b: Uint8Array): u64 {
  return hashBytesRaw(b.dataStart, b.length);
}

export function hashString(s: string): u64 {
  const b = String.UTF8.encode(s);
  return hashBytesRaw(changetype<usize>(b), b.byteLength);
}

const HEX_DIGITS = "0123456789abcdef";

/** `x` as 16 lower-case hex digits: a room's hashHeader value as text (logs, tests). */
export function hex64(x: u64): string {
  return String.UTF8.decode(hex64Into(new ArrayBuffer(16), x));
}

/** on_request_headers (hashHeader value): hex64 written into `out` (16 bytes), so a value the host copies at once needs no allocation. */
export function hex64Into(out: ArrayBuffer, x: u64): ArrayBuffer {
  const p = changetype<usize>(out);
  for (let i = 15; i >= 0; i--) {
    store<u8>(p + <usize>i, <u8>HEX_DIGITS.charCodeAt(<i32>(x & 15)));
    x >>= 4;
  }
  return out;
}
