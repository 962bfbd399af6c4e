// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// RESP (the Redis protocol), one module: commands as arrays of bulk strings, and a bounded decoder for
// replies. Everything a server, a proxy or a broken connection can send decodes to a value or to an
// error message: nil, errors (NOAUTH, WRONGTYPE, ...), integers, nested arrays, malformed and
// truncated input, and lengths too large to be real. Never traps.

/** Longest bulk string accepted (a room's pod is ~20 bytes). */
export const MAX_BULK = 1048576;
/** Most elements in one array, and deepest nesting. */
export const MAX_ARRAY = 1024;
export const MAX_DEPTH = 8;

export const enum RespType {
  Simple = 0,
  Error = 1,
  Integer = 2,
  Bulk = 3,
  Nil = 4,
  Array = 5,
}

export class RespValue {
  type: RespType = RespType.Nil;
  text: string = "";
  integer: i64 = 0;
  items: RespValue[] = [];
}

export class RespResult {
  value: RespValue | null = null;
  error: string = "";
}

/** A command as RESP: an array of bulk strings (lengths in bytes). */
export function encodeCommand(args: string[]): string {
  let s = "*" + args.length.toString() + "\r\n";
  for (let i = 0; i < args.length; i++) {
    s += "$" + String.UTF8.byteLength(args[i]).toString() + "\r\n" + args[i] + "\r\n";
  }
  return s;
}

class Reader {
  pos: i32 = 0;
  err: string = "";
  constructor(public b: Uint8Array) {}

  fail(msg: string): RespValue | null {
    if (this.err.length == 0) this.err = msg + " at byte " + this.pos.toString();
    return null;
  }

  /** The line up to CRLF (not included), or null when truncated. */
  line(): string | null {
    const start = this.pos;
    for (let i = start; i + 1 < this.b.length; i++) {
      if (this.b[i] == 13 && this.b[i + 1] == 10) {
        this.pos = i + 2;
        return String.UTF8.decodeUnsafe(this.b.dataStart + <usize>start, <usize>(i - start));
      }
    }
    return null;
  }

  /** A decimal integer line (optional '-'), bounded to 18 digits. */
  number(s: string): i64 {
    let neg = false;
    let i = 0;
    if (s.length > 0 && s.charCodeAt(0) == 45) {
      neg = true;
      i = 1;
    }
    if (i == s.length || s.length - i > 18) return I64.MIN_VALUE;
    let n: i64 = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) return I64.MIN_VALUE;
      n = n * 10 + <i64>(c - 48);
    }
    return neg ? -n : n;
  }

  value(depth: i32): RespValue | null {
    if (depth > MAX_DEPTH) return this.fail("nested deeper than " + MAX_DEPTH.toString());
    if (this.pos >= this.b.length) return this.fail("truncated reply");
    const tag = this.b[this.pos++];
    const l = this.line();
    if (l == null) return this.fail("truncated reply");
    const v = new RespValue();
    if (tag == 0x2b) {
      v.type = RespType.Simple;
      v.text = l!;
      return v;
    } // +
    if (tag == 0x2d) {
      v.type = RespType.Error;
      v.text = l!;
      return v;
    } // -
    if (tag != 0x3a && tag != 0x24 && tag != 0x2a) return this.fail("unknown type byte " + tag.toString());
    const n = this.number(l!);
    if (n == I64.MIN_VALUE) return this.fail("bad length or integer '" + l! + "'");
    if (tag == 0x3a) {
      v.type = RespType.Integer;
      v.integer = n;
      return v;
    } // :
    if (tag == 0x24) {
      // $
      if (n == -1) {
        v.type = RespType.Nil;
        return v;
      }
      if (n < 0 || n > <i64>MAX_BULK) return this.fail("bulk length " + n.toString() + " out of range");
      const len = <i32>n;
      if (this.pos + len + 2 > this.b.length) return this.fail("truncated bulk string");
      if (this.b[this.pos + len] != 13 || this.b[this.pos + len + 1] != 10) return this.fail("bulk string without CRLF");
      v.type = RespType.Bulk;
      v.text = String.UTF8.decodeUnsafe(this.b.dataStart + <usize>this.pos, <usize>len);
      this.pos += len + 2;
      return v;
    }
    if (tag == 0x2a) {
      // *
      if (n == -1) {
        v.type = RespType.Nil;
        return v;
      }
      if (n < 0 || n > <i64>MAX_ARRAY) return this.fail("array length " + n.toString() + " out of range");
      v.type = RespType.Array;
      for (let i: i64 = 0; i < n; i++) {
        const item = this.value(depth + 1);
        if (item == null) return null;
        v.items.push(item);
      }
      return v;
    }
    return null;
  }
}

/** Decodes exactly one reply; anything after it, or anything short of it, is an error. */
export function decodeReply(b: Uint8Array): RespResult {
  const r = new RespResult();
  const reader = new Reader(b);
  const v = reader.value(0);
  if (v == null) {
    r.error = reader.err;
    return r;
  }
  if (reader.pos != b.length) {
    r.error = "trailing bytes after the reply at byte " + reader.pos.toString();
    return r;
  }
  r.value = v;
  return r;
}
