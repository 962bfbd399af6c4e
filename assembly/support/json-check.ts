// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Strict RFC 8259 syntax check run before assemblyscript-json, whose decoder asserts (traps the VM)
// on malformed input and silently ignores trailing garbage. Returns "" when valid, else a message
// with the byte offset, so bad config fails configuration with a clear error instead of a trap.

const MAX_DEPTH = 64;

class Checker {
  pos: i32 = 0;
  err: string = "";
  constructor(public b: Uint8Array) {}

  fail(msg: string): bool {
    if (this.err.length == 0) this.err = msg + " at byte " + this.pos.toString();
    return false;
  }
  peek(): i32 {
    return this.pos < this.b.length ? <i32>this.b[this.pos] : -1;
  }
  ws(): void {
    while (this.pos < this.b.length) {
      const c = this.b[this.pos];
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
  }
  lit(word: string): bool {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() != word.charCodeAt(i)) return this.fail("invalid literal, expected '" + word + "'");
      this.pos++;
    }
    return true;
  }
  digits(): i32 {
    let n = 0;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) {
      this.pos++;
      n++;
    }
    return n;
  }
  number(): bool {
    if (this.peek() == 0x2d) this.pos++;
    if (this.peek() == 0x30) this.pos++;
    else {
      const n = this.digits();
      if (n == 0) return this.fail("invalid number");
      // The decoder converts integers through f64 to i64; keep them well inside exact range.
      if (n > 15) return this.fail("number too large");
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return this.fail("invalid number fraction");
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      this.pos++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.pos++;
      if (this.digits() == 0) return this.fail("invalid number exponent");
    }
    return true;
  }
  str(): bool {
    this.pos++; // opening quote
    while (true) {
      const c = this.peek();
      if (c < 0) return this.fail("unterminated string");
      this.pos++;
      if (c == 0x22) return true;
      if (c < 0x20) {
        this.pos--;
        return this.fail("control character in string");
      }
      if (c == 0x5c) {
        const e = this.peek();
        this.pos++;
        if (e == 0x75) {
          for (let i = 0; i < 4; i++) {
            const h = this.peek();
            const hex = (h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66);
            if (!hex) return this.fail("invalid \\u escape");
            this.pos++;
          }
        } else if (!(e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74)) {
          this.pos--;
          return this.fail("invalid escape");
        }
      }
    }
  }
  value(depth: i32): bool {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.ws();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) return this.str();
    if (c == 0x74) return this.lit("true");
    if (c == 0x66) return this.lit("false");
    if (c == 0x6e) return this.lit("null");
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail(c < 0 ? "unexpected end of input" : "unexpected character");
  }
  object(depth: i32): bool {
    this.pos++;
    this.ws();
    if (this.peek() == 0x7d) {
      this.pos++;
      return true;
    }
    while (true) {
      this.ws();
      if (this.peek() != 0x22) return this.fail("expected a string key");
      if (!this.str()) return false;
      this.ws();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      if (!this.value(depth + 1)) return false;
      this.ws();
      const c = this.peek();
      if (c == 0x2c) {
        this.pos++;
        continue;
      }
      if (c == 0x7d) {
        this.pos++;
        return true;
      }
      return this.fail("expected ',' or '}'");
    }
  }
  array(depth: i32): bool {
    this.pos++;
    this.ws();
    if (this.peek() == 0x5d) {
      this.pos++;
      return true;
    }
    while (true) {
      if (!this.value(depth + 1)) return false;
      this.ws();
      const c = this.peek();
      if (c == 0x2c) {
        this.pos++;
        continue;
      }
      if (c == 0x5d) {
        this.pos++;
        return true;
      }
      return this.fail("expected ',' or ']'");
    }
  }
}

/** Returns "" if `b` is one valid JSON document, otherwise a message naming the problem and its offset. */
export function checkJson(b: Uint8Array): string {
  const c = new Checker(b);
  if (!c.value(0)) return c.err;
  c.ws();
  if (c.pos != b.length) {
    c.fail("unexpected data after the JSON value");
    return c.err;
  }
  return "";
}
