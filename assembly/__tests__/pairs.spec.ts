// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { encodePairs, decodePairs, locatePairValue, ValueSpan } from "../abi/pairs";

const FOUND = new ValueSpan();

/** The value locatePairValue finds in all of `b`, as a view into it (not a copy); null if none. */
function findPairValue(b: Uint8Array, name: ArrayBuffer): Uint8Array | null {
  return locatePairValue(b, b.length, name, FOUND) ? b.subarray(FOUND.start, FOUND.end) : null;
}

/** A WebSocket handshake's request headers as Envoy keeps them: pseudo-headers first, names in lower case, a repeated header. */
const HANDSHAKE: string[][] = [
  [":authority", "game.example.com"],
  [":path", "/ws?appId=a1&roomId=r9"],
  [":method", "GET"],
  [":scheme", "http"],
  ["upgrade", "websocket"],
  ["connection", "Upgrade"],
  ["cookie", "a=1; b=2"],
  ["upgrade", "h2c"],
];

/** An encoding whose header claims `count` pairs of the given lengths over `size` bytes. */
function forged(count: u32, keyLen: u32, valueLen: u32, size: i32): Uint8Array {
  const b = new Uint8Array(size);
  store<u32>(b.dataStart, count);
  if (size >= 12) {
    store<u32>(b.dataStart + 4, keyLen);
    store<u32>(b.dataStart + 8, valueLen);
  }
  return b;
}

describe("decodePairs", () => {
  it("decodes what encodePairs wrote", () => {
    const d = decodePairs(encodePairs(HANDSHAKE))!;
    expect(d.length).toBe(HANDSHAKE.length);
    expect(d[1][0]).toBe(":path");
    expect(d[7][1]).toBe("h2c");
  });

  it("reads an empty encoding as no pairs", () => {
    expect(decodePairs(new Uint8Array(0))!.length).toBe(0);
  });

  it("refuses a malformed encoding without reading past its end", () => {
    expect(decodePairs(forged(2, 5, 5, 20))).toBeNull();
    expect(decodePairs(new Uint8Array(2))).toBeNull();
    expect(decodePairs(forged(1000000, 0, 0, 16))).toBeNull();
    expect(decodePairs(forged(1, 5, 0xffffffff, 32))).toBeNull();
    expect(decodePairs(forged(1, 0xfffffff0, 0x20, 32))).toBeNull();
  });
});

describe("findPairValue", () => {
  it("finds a value in place: the first pair of that name", () => {
    const b = encodePairs(HANDSHAKE);
    expect(String.UTF8.decode(findPairValue(b, String.UTF8.encode(":path"))!.slice().buffer)).toBe("/ws?appId=a1&roomId=r9");
    expect(String.UTF8.decode(findPairValue(b, String.UTF8.encode("upgrade"))!.slice().buffer)).toBe("websocket");
  });

  it("is a view of the encoding, not a copy", () => {
    const b = encodePairs(HANDSHAKE);
    const v = findPairValue(b, String.UTF8.encode(":method"))!;
    expect(v.buffer == b.buffer).toBe(true);
  });

  it("compares names exactly and finds nothing for an absent one", () => {
    const b = encodePairs(HANDSHAKE);
    expect(findPairValue(b, String.UTF8.encode("Upgrade"))).toBeNull();
    expect(findPairValue(b, String.UTF8.encode("upgrad"))).toBeNull();
    expect(findPairValue(b, String.UTF8.encode("x-absent"))).toBeNull();
  });

  it("finds an empty value as empty, not absent", () => {
    const v = findPairValue(encodePairs([["x-empty", ""]]), String.UTF8.encode("x-empty"));
    expect(v).not.toBeNull();
    expect(v!.length).toBe(0);
  });

  it("refuses a malformed encoding without reading past its end", () => {
    const name = String.UTF8.encode("upgrade");
    expect(findPairValue(forged(2, 5, 5, 20), name)).toBeNull();
    expect(findPairValue(new Uint8Array(2), name)).toBeNull();
    expect(findPairValue(forged(1000000, 0, 0, 16), name)).toBeNull();
    expect(findPairValue(forged(1, 7, 0xffffffff, 32), name)).toBeNull();
    expect(findPairValue(forged(1, 0xfffffff0, 0x20, 32), name)).toBeNull();
  });

  it("locates a value within the bytes read, not the whole block they were read into", () => {
    const enc = encodePairs(HANDSHAKE);
    const block = new Uint8Array(enc.length + 64); // the module's block is larger than the headers in it
    block.set(enc);
    const at = new ValueSpan();
    expect(locatePairValue(block, enc.length, String.UTF8.encode(":path"), at)).toBe(true);
    expect(String.UTF8.decodeUnsafe(block.dataStart + at.start, at.end - at.start)).toBe("/ws?appId=a1&roomId=r9");
    // The right name whose value runs past the bytes read is not found, though the block goes on.
    const one = encodePairs([["upgrade", "websocket"]]);
    const oneBlock = new Uint8Array(one.length + 64);
    oneBlock.set(one);
    expect(locatePairValue(oneBlock, one.length - 3, String.UTF8.encode("upgrade"), at)).toBe(false);
    expect(locatePairValue(oneBlock, one.length, String.UTF8.encode("upgrade"), at)).toBe(true);
    // A size beyond the block is held to the block.
    expect(locatePairValue(enc, enc.length + 1000, String.UTF8.encode(":method"), at)).toBe(true);
  });

  it("does not take a pair past the end for the one asked", () => {
    // The right name, whose value runs past the end of the encoding.
    const b = encodePairs([["upgrade", "websocket"]]);
    expect(findPairValue(b.subarray(0, b.length - 3), String.UTF8.encode("upgrade"))).toBeNull();
  });
});
