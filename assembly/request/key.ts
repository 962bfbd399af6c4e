// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room key: built from the request path and query parameters, as bytes (headers arrive as
// UTF-8 bytes; decoding may produce any byte, which we keep as is).
//
// Encoding: components joined by ':' (e.g. "/ws:a1:r9"), each component with '%', ':' and control
// bytes percent-escaped. The path is normalized first (normalizePath), so every spelling of one path
// that a gateway routes the same way ("/ws", "/ws/", "//ws", "/./ws", "/w%73") keys the same room.
// Escaping makes the encoding injective: "appId=a:b&roomId=c" gives "/ws:a%3Ab:c" while
// "appId=a&roomId=b:c" gives "/ws:a:b%3Ac".

export const enum KeyStatus {
  Ok = 0,
  /** A key parameter is absent, or its first occurrence has an empty value. */
  Missing = 1,
  /** The encoded key exceeds maxKeyLength. */
  TooLong = 2,
}

/** What buildRoomKey found; one per KeySpec, rewritten by each call (a join allocates nothing for its key). */
export class KeyResult {
  status: KeyStatus = KeyStatus.Ok;
  /** Ok: the key is `bytes[0, length)`, the spec's buffer, valid until the next call with the spec. */
  bytes: Uint8Array = NO_KEY;
  length: i32 = 0;
  /** Missing: the parameter that is. */
  missingParam: string = "";

  /** Ok: the key as a view of `bytes` (allocates: for logs and tests); else null. */
  get key(): Uint8Array | null {
    return this.status == KeyStatus.Ok ? this.bytes.subarray(0, this.length) : null;
  }

  fail(status: KeyStatus, missingParam: string): KeyResult {
    this.status = status;
    this.length = 0;
    this.missingParam = missingParam;
    return this;
  }
}
const NO_KEY = new Uint8Array(0);

/** Key parameter names, pre-encoded once per configuration (not per request). */
export class KeySpec {
  names: Uint8Array[] = [];
  /** Reused per request (a VM runs one request at a time): decoding scratch and the key buffer. */
  scratch: Uint8Array = new Uint8Array(256);
  pathScratch: Uint8Array = new Uint8Array(256);
  pathOut: Uint8Array = new Uint8Array(256);
  out: Uint8Array;
  starts: StaticArray<i32>;
  ends: StaticArray<i32>;
  readonly result: KeyResult = new KeyResult();
  constructor(
    public paramNames: string[],
    public includePath: bool,
    public maxKeyLength: i32,
  ) {
    this.out = new Uint8Array(maxKeyLength);
    this.starts = new StaticArray<i32>(paramNames.length);
    this.ends = new StaticArray<i32>(paramNames.length);
    for (let i = 0; i < paramNames.length; i++) {
      this.names.push(Uint8Array.wrap(String.UTF8.encode(paramNames[i])));
    }
  }
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  return -1;
}

/**
 * Decodes application/x-www-form-urlencoded bytes in [start, end) of `src` into `dst`:
 * '+' is a space, %XX a byte; a malformed escape is kept literally (as browsers do).
 * Returns the decoded length. `dst` must hold at least end - start bytes.
 */
export function formDecode(src: Uint8Array, start: i32, end: i32, dst: Uint8Array): i32 {
  let n = 0;
  let i = start;
  while (i < end) {
    const c = unchecked(src[i]);
    if (c == 0x2b) {
      unchecked((dst[n++] = 0x20));
      i++;
      continue;
    }
    if (c == 0x25 && i + 2 < end) {
      const h = hexVal(unchecked(src[i + 1]));
      const l = hexVal(unchecked(src[i + 2]));
      if (h >= 0 && l >= 0) {
        unchecked((dst[n++] = <u8>((h << 4) | l)));
        i += 3;
        continue;
      }
    }
    unchecked((dst[n++] = c));
    i++;
  }
  return n;
}

function bytesEqual(a: Uint8Array, aLen: i32, b: Uint8Array): bool {
  if (aLen != b.length) return false;
  for (let i = 0; i < aLen; i++) if (unchecked(a[i]) != unchecked(b[i])) return false;
  return true;
}

const HEX = "0123456789ABCDEF";

/** RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~" (their percent-encodings mean the same path). */
function isUnreserved(c: i32): bool {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e
  );
}

/**
 * Normalizes the path `src[start..end)` into `dst` (which must hold end - start + 1 bytes), returning its length:
 * percent-encoded unreserved bytes are decoded and other escapes get upper-case hex (RFC 3986 6.2.2),
 * "." and ".." segments are resolved, and empty segments (repeated or trailing slashes) are dropped.
 * `tmp` (end - start bytes) is scratch. The result always starts with '/'.
 */
export function normalizePath(src: Uint8Array, start: i32, end: i32, tmp: Uint8Array, dst: Uint8Array): i32 {
  let m = 0;
  for (let i = start; i < end; i++) {
    const c = unchecked(src[i]);
    if (c == 0x25 && i + 2 < end) {
      const h = hexVal(unchecked(src[i + 1]));
      const l = hexVal(unchecked(src[i + 2]));
      if (h >= 0 && l >= 0) {
        const b = (h << 4) | l;
        if (isUnreserved(b)) {
          unchecked((tmp[m++] = <u8>b));
        } else {
          unchecked((tmp[m++] = 0x25));
          unchecked((tmp[m++] = <u8>HEX.charCodeAt(h)));
          unchecked((tmp[m++] = <u8>HEX.charCodeAt(l)));
        }
        i += 2;
        continue;
      }
    }
    unchecked((tmp[m++] = c));
  }
  let out = 0;
  let i = 0;
  while (i < m) {
    if (unchecked(tmp[i]) == 0x2f) {
      i++;
      continue;
    } // '/': empty segments vanish
    let j = i;
    while (j < m && unchecked(tmp[j]) != 0x2f) j++;
    const len = j - i;
    if (len == 1 && unchecked(tmp[i]) == 0x2e) {
      // "." is the same directory
    } else if (len == 2 && unchecked(tmp[i]) == 0x2e && unchecked(tmp[i + 1]) == 0x2e) {
      while (out > 0 && unchecked(dst[out - 1]) != 0x2f) out--; // ".." drops the last segment
      if (out > 0) out--;
    } else {
      unchecked((dst[out++] = 0x2f));
      for (let k = i; k < j; k++) unchecked((dst[out++] = unchecked(tmp[k])));
    }
    i = j;
  }
  if (out == 0) unchecked((dst[out++] = 0x2f));
  return out;
}

/** Appends `src[0..len)` to `out` at `pos`, escaping '%', ':' and control bytes; returns the new position. */
function appendEscaped(out: Uint8Array, pos: i32, src: Uint8Array, start: i32, len: i32): i32 {
  for (let i = start; i < start + len; i++) {
    const c = unchecked(src[i]);
    if (c == 0x25 || c == 0x3a || c < 0x20 || c == 0x7f) {
      if (pos + 3 > out.length) return out.length + 1;
      unchecked((out[pos] = 0x25));
      unchecked((out[pos + 1] = <u8>HEX.charCodeAt(c >> 4)));
      unchecked((out[pos + 2] = <u8>HEX.charCodeAt(c & 15)));
      pos += 3;
    } else {
      if (pos + 1 > out.length) return out.length + 1;
      unchecked((out[pos] = c));
      pos++;
    }
  }
  return pos;
}

/**
 * Builds the room key from a `:path` value ("/ws?appId=a1&roomId=r9"), `path[start, end)`.
 * Query rules: parameters in any order; names and values form-decoded; the first occurrence of a
 * name wins (even if empty, so a later duplicate cannot override it); an empty value counts as missing.
 * Returns the spec's result, rewritten.
 */
export function buildRoomKey(path: Uint8Array, spec: KeySpec, start: i32 = 0, end: i32 = path.length): KeyResult {
  const result = spec.result;
  if (start < 0 || end > path.length || start > end) return result.fail(KeyStatus.Missing, "");
  const len = end - start;
  let q = start;
  while (q < end && unchecked(path[q]) != 0x3f) q++; // '?'
  let qEnd = q;
  while (qEnd < end && unchecked(path[qEnd]) != 0x23) qEnd++; // '#': never sent by clients, ignore if present

  const count = spec.names.length;
  const starts = spec.starts;
  const ends = spec.ends;
  for (let k = 0; k < count; k++) unchecked((starts[k] = -1));

  // Scan the query once, recording where each wanted parameter's first value lies.
  if (spec.scratch.length < len) spec.scratch = new Uint8Array(len);
  const scratch = spec.scratch;
  let found = 0;
  let i = q + 1;
  while (i < qEnd && found < count) {
    let j = i;
    while (j < qEnd && unchecked(path[j]) != 0x26) j++; // '&'
    let eq = i;
    while (eq < j && unchecked(path[eq]) != 0x3d) eq++; // '='
    const nameLen = formDecode(path, i, eq, scratch);
    for (let k = 0; k < count; k++) {
      if (unchecked(starts[k]) < 0 && bytesEqual(scratch, nameLen, unchecked(spec.names[k]))) {
        unchecked((starts[k] = eq < j ? eq + 1 : j));
        unchecked((ends[k] = j));
        found++;
        break;
      }
    }
    i = j + 1;
  }

  // Decoding never turns a non-empty value into an empty one, so raw ranges decide "missing".
  for (let k = 0; k < count; k++) {
    const s = unchecked(starts[k]);
    if (s < 0 || s == unchecked(ends[k])) return result.fail(KeyStatus.Missing, spec.paramNames[k]);
  }

  // Assemble: [path ':'] value (':' value)*, with each value decoded then escaped.
  const out = spec.out;
  let pos = 0;
  if (spec.includePath) {
    const pathLen = q - start;
    if (spec.pathScratch.length < pathLen + 1) {
      spec.pathScratch = new Uint8Array(pathLen + 1);
      spec.pathOut = new Uint8Array(pathLen + 1);
    }
    const normalized = normalizePath(path, start, q, spec.pathScratch, spec.pathOut);
    pos = appendEscaped(out, pos, spec.pathOut, 0, normalized);
    if (pos > out.length) return result.fail(KeyStatus.TooLong, "");
  }
  for (let k = 0; k < count; k++) {
    const vLen = formDecode(path, unchecked(starts[k]), unchecked(ends[k]), scratch);
    if (k > 0 || spec.includePath) {
      if (pos + 1 > out.length) return result.fail(KeyStatus.TooLong, "");
      unchecked((out[pos++] = 0x3a));
    }
    pos = appendEscaped(out, pos, scratch, 0, vLen);
    if (pos > out.length) return result.fail(KeyStatus.TooLong, "");
  }
  result.status = KeyStatus.Ok;
  result.bytes = out;
  result.length = pos;
  result.missingParam = "";
  return result;
}
