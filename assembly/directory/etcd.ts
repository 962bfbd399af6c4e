// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The etcd v3 JSON gateway's wire format, one module: request bodies for the room directory's four
// operations, parsers for their replies, and the DirectoryProtocol over them. Keys and values travel as standard base64; int64 fields
// are JSON strings; fields with default values may be absent (a txn that failed has no "succeeded").
// Pure: no host calls, so every malformed, truncated or hostile reply is unit tested and never traps.
import { JSON } from "assemblyscript-json/assembly";
import { checkJson } from "../support/json-check";
import { base64Encode, base64Decode } from "../support/base64";
import { StoreReply, ReplyKind, DirectoryProtocol, DirectoryRequest, Operation } from "./protocol";

export const PATH_RANGE = "/v3/kv/range";
export const PATH_TXN = "/v3/kv/txn";
export const PATH_LEASE_GRANT = "/v3/lease/grant";

/** Replies larger than this are not a directory answer (one key, one value). */
export const MAX_REPLY_BYTES = 65536;

function q(s: string): string {
  return '"' + s + '"';
}
function b64(s: string): string {
  return q(base64Encode(s));
}

function putOp(key: string, value: string, lease: string): string {
  return '{"requestPut":{"key":' + b64(key) + ',"value":' + b64(value) + (lease.length > 0 ? ',"lease":' + q(lease) : "") + "}}";
}
function rangeOp(key: string): string {
  return '{"requestRange":{"key":' + b64(key) + "}}";
}

/** Lookup: the room's pod, if any. */
export function rangeBody(key: string): string {
  return '{"key":' + b64(key) + "}";
}

/** First writer wins: put only if the key was never created; otherwise read the winner back. */
export function putIfAbsentBody(key: string, value: string, lease: string): string {
  return (
    '{"compare":[{"key":' +
    b64(key) +
    ',"target":"CREATE","result":"EQUAL","createRevision":"0"}],' +
    '"success":[' +
    putOp(key, value, lease) +
    '],"failure":[' +
    rangeOp(key) +
    "]}"
  );
}

/**
 * Compare-and-replace: put `value` only if the key still holds `expected` (a re-pin after a pod left, or
 * a refresh that moves the entry to a newer lease with expected == value); otherwise read what it holds.
 */
export function replaceBody(key: string, expected: string, value: string, lease: string): string {
  return (
    '{"compare":[{"key":' +
    b64(key) +
    ',"target":"VALUE","result":"EQUAL","value":' +
    b64(expected) +
    "}]," +
    '"success":[' +
    putOp(key, value, lease) +
    '],"failure":[' +
    rangeOp(key) +
    "]}"
  );
}

export function leaseGrantBody(ttlSeconds: i64): string {
  return '{"TTL":' + q(ttlSeconds.toString()) + "}";
}

function parseObject(body: Uint8Array): JSON.Obj | null {
  if (body.length > MAX_REPLY_BYTES) return null;
  if (checkJson(body).length > 0) return null;
  const v = JSON.parse(body);
  return v.isObj ? <JSON.Obj>v : null;
}

function arr(o: JSON.Obj, name: string): JSON.Value[] | null {
  const v = o.get(name);
  return v != null && v.isArr ? (<JSON.Arr>v)._arr : null;
}

/** The first kv's value of a range result object, Absent when it has none. */
function firstValue(range: JSON.Obj): StoreReply {
  const kvs = arr(range, "kvs");
  const r = new StoreReply();
  if (kvs == null || kvs.length == 0) {
    r.kind = ReplyKind.Absent;
    return r;
  }
  if (!kvs[0].isObj) return StoreReply.invalid("kvs[0] is not an object");
  const v = (<JSON.Obj>kvs[0]).get("value");
  // A key whose value is empty omits "value": not something the directory writes.
  if (v == null || !v.isString) return StoreReply.invalid("kvs[0].value missing or not a string");
  const decoded = base64Decode((<JSON.Str>v)._str);
  if (decoded == null) return StoreReply.invalid("kvs[0].value is not base64");
  r.kind = ReplyKind.Found;
  r.value = decoded!;
  return r;
}

/** Reply of rangeBody. */
export function parseRange(body: Uint8Array): StoreReply {
  const o = parseObject(body);
  if (o == null) return StoreReply.invalid("range reply is not a JSON object");
  if (o.get("error") != null) return StoreReply.invalid("etcd error in range reply");
  return firstValue(o);
}

/** Reply of putIfAbsentBody / replaceBody: Written, or the current holder (Found), or Absent. */
export function parseTxn(body: Uint8Array): StoreReply {
  const o = parseObject(body);
  if (o == null) return StoreReply.invalid("txn reply is not a JSON object");
  if (o.get("error") != null) return StoreReply.invalid("etcd error in txn reply");
  if (o.get("header") == null) return StoreReply.invalid("txn reply without a header");
  const ok = o.get("succeeded");
  if (ok != null && ok.isBool && (<JSON.Bool>ok)._bool) {
    return StoreReply.of(ReplyKind.Written);
  }
  const responses = arr(o, "responses");
  if (responses == null || responses.length == 0 || !responses[0].isObj) return StoreReply.invalid("failed txn without its range response");
  const rr = (<JSON.Obj>responses[0]).get("response_range");
  if (rr == null || !rr.isObj) return StoreReply.invalid("failed txn without response_range");
  return firstValue(<JSON.Obj>rr);
}

/** Reply of leaseGrantBody. */
export function parseLeaseGrant(body: Uint8Array): StoreReply {
  const o = parseObject(body);
  if (o == null) return StoreReply.invalid("lease reply is not a JSON object");
  const id = o.get("ID");
  if (id == null || !id.isString) return StoreReply.invalid("lease reply without an ID");
  const s = (<JSON.Str>id)._str;
  if (s.length == 0 || s.length > 20) return StoreReply.invalid("lease ID out of range");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return StoreReply.invalid("lease ID is not a decimal integer");
  }
  const r = new StoreReply();
  r.kind = ReplyKind.Lease;
  r.lease = s;
  return r;
}

/** The room directory in etcd: leases make entries expire; values compare by VALUE. */
export class EtcdProtocol extends DirectoryProtocol {
  get usesLeases(): bool {
    return true;
  }
  lookup(key: string): DirectoryRequest {
    return new DirectoryRequest(PATH_RANGE, rangeBody(key));
  }
  claim(key: string, value: string, lease: string, ttlMs: i64): DirectoryRequest {
    return new DirectoryRequest(PATH_TXN, putIfAbsentBody(key, value, lease));
  }
  replace(key: string, expected: string, value: string, lease: string, ttlMs: i64): DirectoryRequest {
    return new DirectoryRequest(PATH_TXN, replaceBody(key, expected, value, lease));
  }
  grantLease(ttlSeconds: i64): DirectoryRequest {
    return new DirectoryRequest(PATH_LEASE_GRANT, leaseGrantBody(ttlSeconds));
  }
  parse(op: Operation, reply: Uint8Array): StoreReply {
    if (op == Operation.Lookup) return parseRange(reply);
    if (op == Operation.Lease) return parseLeaseGrant(reply);
    return parseTxn(reply);
  }
}
