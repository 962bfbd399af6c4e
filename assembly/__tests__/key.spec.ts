// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { buildRoomKey, KeySpec, KeyStatus, formDecode } from "../request/key";

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
function text(b: Uint8Array | null): string {
  return b == null ? "<null>" : String.UTF8.decodeUnsafe(b.dataStart, b.length);
}
const spec = new KeySpec(["appId", "roomId"], true, 512);
function key(path: string, s: KeySpec = spec): string {
  const r = buildRoomKey(bytes(path), s);
  return r.status == KeyStatus.Ok ? text(r.key) : "status " + r.status.toString() + " " + r.missingParam;
}

describe("room key", () => {
  it("joins path and parameters", () => {
    expect(key("/ws?appId=a1&roomId=r9")).toBe("/ws:a1:r9");
  });
  it("accepts parameters in any order, among others", () => {
    expect(key("/ws?x=1&roomId=r9&y=&appId=a1&z")).toBe("/ws:a1:r9");
  });
  it("percent-decodes and treats + as space", () => {
    expect(key("/ws?appId=a%20b&roomId=c+d")).toBe("/ws:a b:c d");
    expect(key("/ws?app%49d=x&roomId=y")).toBe("/ws:x:y");
  });
  it("keeps malformed escapes literally (then escapes '%')", () => {
    expect(key("/ws?appId=%zz&roomId=%4")).toBe("/ws:%25zz:%254");
  });
  it("first occurrence wins, even over a later non-empty one", () => {
    expect(key("/ws?appId=a&roomId=1&roomId=2")).toBe("/ws:a:1");
    expect(key("/ws?appId=a&roomId=&roomId=2")).toBe("status 1 roomId");
  });
  it("reports the missing parameter", () => {
    expect(key("/ws?appId=a")).toBe("status 1 roomId");
    expect(key("/ws")).toBe("status 1 appId");
    expect(key("/ws?appId&roomId=1")).toBe("status 1 appId");
  });
  it("never lets different triples collide (':' and '%' are escaped)", () => {
    const a = key("/ws?appId=a:b&roomId=c");
    const b = key("/ws?appId=a&roomId=b:c");
    expect(a).toBe("/ws:a%3Ab:c");
    expect(b).toBe("/ws:a:b%3Ac");
    expect(a).not.toBe(b);
    expect(key("/ws?appId=a%3Ab&roomId=c")).toBe(a); // same decoded value, same room
    expect(key("/w:s?appId=a&roomId=c")).not.toBe(key("/w?appId=s:a&roomId=c"));
    expect(key("/ws?appId=%25&roomId=1")).not.toBe(key("/ws?appId=%2525&roomId=1"));
  });
  it("escapes control bytes so keys stay printable", () => {
    expect(key("/ws?appId=%0A&roomId=%7F")).toBe("/ws:%0A:%7F");
  });
  it("separates rooms by path when the path is part of the key", () => {
    expect(key("/game1?appId=a&roomId=1")).not.toBe(key("/game2?appId=a&roomId=1"));
    const noPath = new KeySpec(["appId", "roomId"], false, 512);
    expect(key("/game1?appId=a&roomId=1", noPath)).toBe("a:1");
    expect(key("/game2?appId=a&roomId=1", noPath)).toBe("a:1");
  });
  it("keys every spelling of one path as one room", () => {
    const SPELLINGS = [
      "/ws",
      "/ws/",
      "//ws",
      "/./ws",
      "/w%73",
      "/W%73".toLowerCase(),
      "/%77%73",
      "/ws//",
      "/ws/.",
      "/x/../ws",
      "/./x/./../ws/",
      "///ws///",
      "/w%73/",
    ];
    for (let i = 0; i < SPELLINGS.length; i++) expect(key(SPELLINGS[i] + "?appId=a&roomId=1")).toBe("/ws:a:1");
  });
  it("keeps different paths apart after normalization", () => {
    expect(key("/ws2?appId=a&roomId=1")).toBe("/ws2:a:1");
    expect(key("/a/ws?appId=a&roomId=1")).toBe("/a/ws:a:1");
    expect(key("/WS?appId=a&roomId=1")).toBe("/WS:a:1"); // paths are case-sensitive
    // A reserved byte stays encoded (with upper-case hex): "/a%2fb" is not "/a/b".
    expect(key("/a%2fb?appId=a&roomId=1")).toBe("/a%252Fb:a:1");
    expect(key("/a%2Fb?appId=a&roomId=1")).toBe("/a%252Fb:a:1");
    expect(key("/a/b?appId=a&roomId=1")).toBe("/a/b:a:1");
    expect(key("/..?appId=a&roomId=1")).toBe("/:a:1");
    expect(key("?appId=a&roomId=1")).toBe("/:a:1");
  });
  it("ignores a fragment", () => {
    expect(key("/ws?appId=a&roomId=1#x")).toBe("/ws:a:1");
  });
  it("rejects keys over the limit", () => {
    const small = new KeySpec(["appId", "roomId"], true, 9);
    expect(key("/ws?appId=a&roomId=123", small)).toBe("/ws:a:123");
    expect(key("/ws?appId=a&roomId=1234", small)).toBe("status 2 ");
    // escaping counts: ':' takes 3 bytes
    expect(key("/ws?appId=a&roomId=1:", small)).toBe("status 2 ");
  });
  it("supports other parameter sets", () => {
    const three = new KeySpec(["platform", "nodeName", "threadId"], true, 512);
    expect(key("/g?threadId=3&platform=wx&nodeName=n1", three)).toBe("/g:wx:n1:3");
  });
  it("handles an empty path buffer", () => {
    expect(key("")).toBe("status 1 appId");
  });
  it("reads the path from a range of larger bytes (the headers it was read with)", () => {
    const around = bytes("xx/ws/./?appId=a1&roomId=r9yy");
    const r = buildRoomKey(around, spec, 2, around.length - 2);
    expect(text(r.key)).toBe("/ws:a1:r9");
    expect(r.length).toBe(9);
    expect(buildRoomKey(around, spec, 2, 1).status).toBe(KeyStatus.Missing);
    expect(buildRoomKey(around, spec, 0, around.length + 1).status).toBe(KeyStatus.Missing);
  });
  it("rewrites one result per spec: a missing key after a found one says so, with no key", () => {
    const s = new KeySpec(["appId", "roomId"], true, 512);
    const found = buildRoomKey(bytes("/ws?appId=a&roomId=1"), s);
    expect(found.status).toBe(KeyStatus.Ok);
    const missing = buildRoomKey(bytes("/ws?appId=a"), s);
    expect(missing.status).toBe(KeyStatus.Missing);
    expect(missing.missingParam).toBe("roomId");
    expect(missing.key).toBeNull();
    expect(buildRoomKey(bytes("/ws?appId=b&roomId=2"), s).missingParam).toBe("");
  });
  it("formDecode decodes in place ranges", () => {
    const src = bytes("x%41+b");
    const dst = new Uint8Array(src.length);
    const n = formDecode(src, 1, src.length, dst);
    expect(text(dst.subarray(0, n))).toBe("A b");
  });
});
