// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { checkJson } from "../support/json-check";

function check(s: string): string {
  return checkJson(Uint8Array.wrap(String.UTF8.encode(s)));
}

describe("JSON syntax check", () => {
  it("accepts valid documents", () => {
    expect(check("{}")).toBe("");
    expect(check(' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]} ')).toBe("");
    expect(check("[]")).toBe("");
    expect(check("0")).toBe("");
  });
  it("rejects malformed documents with an offset", () => {
    expect(check("")).toBe("unexpected end of input at byte 0");
    expect(check('{"a":1,}')).toBe("expected a string key at byte 7");
    expect(check('{"a" 1}')).toBe("expected ':' at byte 5");
    expect(check("[1 2]")).toBe("expected ',' or ']' at byte 3");
    expect(check("{} x")).toBe("unexpected data after the JSON value at byte 3");
    expect(check('"abc')).toBe("unterminated string at byte 4");
    expect(check('"a\\q"')).toBe("invalid escape at byte 3");
    expect(check("01")).toBe("unexpected data after the JSON value at byte 1");
    expect(check("tru")).toBe("invalid literal, expected 'true' at byte 3");
    expect(check("1.")).toBe("invalid number fraction at byte 2");
    expect(check("1234567890123456")).toBe("number too large at byte 16");
  });
  it("limits nesting depth", () => {
    let deep = "";
    for (let i = 0; i < 100; i++) deep += "[";
    expect(check(deep)).toBe("nesting deeper than 64 at byte 65");
  });
});
