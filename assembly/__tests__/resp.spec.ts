// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// RESP: commands encode as arrays of bulk strings; every reply a server, a proxy or a broken
// connection can send decodes to a value or an error, never a trap.
import { encodeCommand, decodeReply, RespType, MAX_BULK } from "../directory/resp";
import { RedisProtocol } from "../directory/redis";
import { Operation, ReplyKind } from "../directory/protocol";

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

describe("RESP", () => {
  it("encodes a command as an array of bulk strings with byte lengths", () => {
    expect(encodeCommand(["GET", "room-affinity/00ff"])).toBe("*2\r\n$3\r\nGET\r\n$18\r\nroom-affinity/00ff\r\n");
    expect(encodeCommand(["SET", "k", "é"])).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n");
  });
  it("decodes simple strings, errors, integers, bulk strings, nil and nested arrays", () => {
    expect(decodeReply(bytes("+OK\r\n")).value!.text).toBe("OK");
    const e = decodeReply(bytes("-NOAUTH Authentication required.\r\n")).value!;
    expect(e.type).toBe(RespType.Error);
    expect(e.text).toBe("NOAUTH Authentication required.");
    expect(decodeReply(bytes(":-42\r\n")).value!.integer).toBe(-42);
    expect(decodeReply(bytes("$12\r\n10.0.0.1:80\r\r\n")).value!.text).toBe("10.0.0.1:80\r");
    expect(decodeReply(bytes("$-1\r\n")).value!.type).toBe(RespType.Nil);
    expect(decodeReply(bytes("*-1\r\n")).value!.type).toBe(RespType.Nil);
    const a = decodeReply(bytes("*2\r\n*1\r\n:1\r\n$1\r\nx\r\n")).value!;
    expect(a.items.length).toBe(2);
    expect(a.items[0].items[0].integer).toBe(1);
    expect(a.items[1].text).toBe("x");
  });
  it("rejects every truncation of a valid reply, without trapping", () => {
    const full = "*3\r\n$3\r\nabc\r\n:7\r\n+OK\r\n";
    for (let n = 0; n < full.length; n++) {
      const r = decodeReply(bytes(full.substring(0, n)));
      expect(r.value).toBeNull();
      expect(r.error.length).toBeGreaterThan(0);
    }
    expect(decodeReply(bytes(full)).value).not.toBeNull();
  });
  it("rejects huge and negative lengths, deep nesting, unknown types and trailing bytes", () => {
    expect(decodeReply(bytes("$" + (MAX_BULK + 1).toString() + "\r\n")).error.includes("out of range")).toBe(true);
    expect(decodeReply(bytes("$99999999999999999999\r\nx\r\n")).error.includes("bad length")).toBe(true);
    expect(decodeReply(bytes("$-2\r\n")).error.includes("out of range")).toBe(true);
    expect(decodeReply(bytes("*100000\r\n")).error.includes("out of range")).toBe(true);
    expect(decodeReply(bytes("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")).error.includes("nested deeper")).toBe(
      true,
    );
    expect(decodeReply(bytes("!oops\r\n")).error.includes("unknown type")).toBe(true);
    expect(decodeReply(bytes("+OK\r\n+OK\r\n")).error.includes("trailing bytes")).toBe(true);
    expect(decodeReply(bytes("$3\r\nabcd\r\n")).error.includes("without CRLF")).toBe(true);
    expect(decodeReply(bytes(":1x\r\n")).error.includes("bad length or integer")).toBe(true);
  });
});

const p = new RedisProtocol();

describe("Redis directory protocol", () => {
  it("puts if absent with SET NX PX GET, and compares-and-replaces with a script", () => {
    expect(p.claim("k", "10.0.0.1:80", "", 5000).body).toBe(encodeCommand(["SET", "k", "10.0.0.1:80", "NX", "PX", "5000", "GET"]));
    expect(p.replace("k", "a:1", "b:2", "", 7).body.includes("$4\r\nEVAL\r\n")).toBe(true);
    expect(p.lookup("k").body).toBe(encodeCommand(["GET", "k"]));
  });
  it("reads lookups, claims and replaces", () => {
    expect(p.parse(Operation.Lookup, bytes("$-1\r\n")).kind).toBe(ReplyKind.Absent);
    expect(p.parse(Operation.Lookup, bytes("$6\r\nA:1234\r\n")).value).toBe("A:1234");
    expect(p.parse(Operation.Claim, bytes("$-1\r\n")).kind).toBe(ReplyKind.Written);
    const lost = p.parse(Operation.Claim, bytes("$3\r\nB:1\r\n"));
    expect(lost.kind).toBe(ReplyKind.Found);
    expect(lost.value).toBe("B:1");
    expect(p.parse(Operation.Replace, bytes("+OK\r\n")).kind).toBe(ReplyKind.Written);
    expect(p.parse(Operation.Replace, bytes("$-1\r\n")).kind).toBe(ReplyKind.Absent);
  });
  it("turns Redis errors and unexpected types into invalid replies that say why", () => {
    const noauth = p.parse(Operation.Lookup, bytes("-NOAUTH Authentication required.\r\n"));
    expect(noauth.kind).toBe(ReplyKind.Invalid);
    expect(noauth.error).toBe("Redis error: NOAUTH Authentication required.");
    expect(p.parse(Operation.Lookup, bytes(":1\r\n")).kind).toBe(ReplyKind.Invalid);
    expect(p.parse(Operation.Claim, bytes("garbage")).error.includes("malformed Redis reply")).toBe(true);
  });
});
