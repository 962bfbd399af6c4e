// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Standard base64 (RFC 4648, with padding): the encoding Envoy's header-based stateful session
// state expects for its "ip:port" value.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Encode(s: string): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = ((<u32>b[i]) << 16) | ((<u32>b[i + 1]) << 8) | <u32>b[i + 2];
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + ALPHABET.charAt(n & 63);
  }
  const rest = b.length - i;
  if (rest == 1) {
    const n = (<u32>b[i]) << 16;
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + "==";
  } else if (rest == 2) {
    const n = ((<u32>b[i]) << 16) | ((<u32>b[i + 1]) << 8);
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + "=";
  }
  return out;
}

function sextet(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

/**
 * For store replies (the etcd JSON gateway sends keys and values in standard base64): the decoded
 * text, or null for anything that is not well-formed base64 of UTF-8-safe bytes. Never traps.
 */
export function base64Decode(s: string): string | null {
  const n = s.length;
  if (n % 4 != 0) return null;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) == 61) pad++;
  if (n > 1 && s.charCodeAt(n - 2) == 61) pad++;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = s.charCodeAt(i + k);
      let x = sextet(c);
      if (x < 0) {
        if (c == 61 && i + 4 == n && k >= 4 - pad)
          x = 0; // padding, only at the very end
        else return null;
      }
      v = (v << 6) | x;
    }
    if (o < out.length) out[o++] = <u8>(v >> 16);
    if (o < out.length) out[o++] = <u8>((v >> 8) & 255);
    if (o < out.length) out[o++] = <u8>(v & 255);
  }
  return String.UTF8.decodeUnsafe(out.dataStart, out.length);
}
