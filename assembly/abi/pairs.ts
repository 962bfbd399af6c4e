// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The ABI's pair-map byte format, the one module that reads and writes it: headers of local replies
// and http calls, Higress host lists.
// Layout: u32 count, then (u32 keyLen, u32 valueLen) per pair, then each key and value NUL-terminated.
// Host-free: the host calls are in host.ts.

/** For proxy_http_call and proxy_send_local_response: pairs encoded as the ABI wants. */
export function encodePairs(pairs: string[][]): Uint8Array {
  const enc = new Array<ArrayBuffer>(0);
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    const k = String.UTF8.encode(pairs[i][0]);
    const v = String.UTF8.encode(pairs[i][1]);
    enc.push(k);
    enc.push(v);
    size += k.byteLength + v.byteLength + 2;
  }
  const out = new Uint8Array(size);
  const base = out.dataStart;
  store<u32>(base, pairs.length);
  let off: usize = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    const k = enc[i * 2];
    const v = enc[i * 2 + 1];
    store<u32>(base + 4 + i * 8, k.byteLength);
    store<u32>(base + 8 + i * 8, v.byteLength);
    memory.copy(base + off, changetype<usize>(k), k.byteLength);
    off += k.byteLength + 1;
    memory.copy(base + off, changetype<usize>(v), v.byteLength);
    off += v.byteLength + 1;
  }
  return out;
}

/** For proxy_get_upstream_hosts (Higress): a pair map as strings; null if the encoding is malformed (never traps on host data). */
export function decodePairs(b: Uint8Array): string[][] | null {
  if (!wellFormed(b)) return null;
  const out = new Array<string[]>(0);
  if (b.length == 0) return out;
  const base = b.dataStart;
  const count = load<u32>(base);
  let off: usize = 4 + <usize>count * 8;
  for (let i: u32 = 0; i < count; i++) {
    const kl = <usize>load<u32>(base + 4 + i * 8);
    const vl = <usize>load<u32>(base + 8 + i * 8);
    const k = String.UTF8.decodeUnsafe(base + off, kl);
    off += kl + 1;
    const v = String.UTF8.decodeUnsafe(base + off, vl);
    off += vl + 1;
    out.push([k, v]);
  }
  return out;
}

/** Whether every length stays inside the encoding, so reading it never goes past its end. */
function wellFormed(b: Uint8Array): bool {
  const n = <u64>b.length;
  if (n < 4) return n == 0;
  const base = b.dataStart;
  const count = <u64>load<u32>(base);
  let off: u64 = 4 + count * 8;
  if (off > n) return false;
  for (let i: u64 = 0; i < count; i++) {
    off += <u64>load<u32>(base + 4 + <usize>i * 8) + <u64>load<u32>(base + 8 + <usize>i * 8) + 2;
    if (off > n) return false;
  }
  return true;
}

/** Where a value lies in the bytes it was found in: `[start, end)`. Reused, so finding allocates nothing. */
export class ValueSpan {
  start: i32 = 0;
  end: i32 = 0;
}

/**
 * on_request_headers: where the value of the first pair named `name` (bytes, compared exactly: Envoy
 * hands header names back in lower case) lies in the first `size` bytes of `b`, written to `at`; false
 * if there is none or if the encoding is malformed (never reads past `size`). One walk, no allocation.
 */
export function locatePairValue(b: Uint8Array, size: i32, name: ArrayBuffer, at: ValueSpan): bool {
  const n = <u64>min<i32>(size, b.length);
  if (n < 4) return false;
  const base = b.dataStart;
  const count = <u64>load<u32>(base);
  let off: u64 = 4 + count * 8;
  if (off > n) return false;
  const nameLen = <u64>name.byteLength;
  const namePtr = changetype<usize>(name);
  for (let i: u64 = 0; i < count; i++) {
    const kl = <u64>load<u32>(base + 4 + <usize>i * 8);
    const vl = <u64>load<u32>(base + 8 + <usize>i * 8);
    if (off + kl + vl + 2 > n) return false;
    if (kl == nameLen && memory.compare(base + <usize>off, namePtr, <usize>kl) == 0) {
      at.start = <i32>(off + kl + 1);
      at.end = at.start + <i32>vl;
      return true;
    }
    off += kl + vl + 2;
  }
  return false;
}
