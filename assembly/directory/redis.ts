// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room directory in Redis (Higress build, through Higress's own Redis host functions): keys expire
// by themselves (PX), put-if-absent is SET NX with GET (the winner comes back in the same reply), and
// compare-and-replace is a small Lua script, atomic on the server.
import { DirectoryProtocol, DirectoryRequest, StoreReply, ReplyKind, Operation } from "./protocol";
import { encodeCommand, decodeReply, RespType } from "./resp";

/** Replace ARGV[1] by ARGV[2] (expiring in ARGV[3] ms) only if the key holds ARGV[1]; else return what it holds. */
export const REPLACE_SCRIPT =
  "local v = redis.call('GET', KEYS[1]) " +
  "if v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return redis.status_reply('OK') end " +
  "return v";

export class RedisProtocol extends DirectoryProtocol {
  get usesLeases(): bool {
    return false;
  }

  lookup(key: string): DirectoryRequest {
    return new DirectoryRequest("", encodeCommand(["GET", key]));
  }

  claim(key: string, value: string, lease: string, ttlMs: i64): DirectoryRequest {
    return new DirectoryRequest("", encodeCommand(["SET", key, value, "NX", "PX", ttlMs.toString(), "GET"]));
  }

  replace(key: string, expected: string, value: string, lease: string, ttlMs: i64): DirectoryRequest {
    return new DirectoryRequest("", encodeCommand(["EVAL", REPLACE_SCRIPT, "1", key, expected, value, ttlMs.toString()]));
  }

  grantLease(ttlSeconds: i64): DirectoryRequest {
    return new DirectoryRequest("", "");
  }

  parse(op: Operation, reply: Uint8Array): StoreReply {
    const d = decodeReply(reply);
    if (d.value == null) return StoreReply.invalid("malformed Redis reply: " + d.error);
    const v = d.value!;
    if (v.type == RespType.Error) return StoreReply.invalid("Redis error: " + (v.text.length > 120 ? v.text.substring(0, 120) : v.text));
    switch (op) {
      case Operation.Lookup:
        if (v.type == RespType.Nil) return StoreReply.of(ReplyKind.Absent);
        if (v.type == RespType.Bulk) return StoreReply.of(ReplyKind.Found, v.text);
        break;
      case Operation.Claim:
        // SET ... NX GET: nil when the key was absent (ours is written), else the holder (ours was not).
        if (v.type == RespType.Nil) return StoreReply.of(ReplyKind.Written);
        if (v.type == RespType.Bulk) return StoreReply.of(ReplyKind.Found, v.text);
        break;
      case Operation.Replace:
        if (v.type == RespType.Simple && v.text == "OK") return StoreReply.of(ReplyKind.Written);
        if (v.type == RespType.Nil) return StoreReply.of(ReplyKind.Absent);
        if (v.type == RespType.Bulk) return StoreReply.of(ReplyKind.Found, v.text);
        break;
    }
    return StoreReply.invalid("unexpected Redis reply type " + (<i32>v.type).toString());
  }
}
