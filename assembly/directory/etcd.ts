// The etcd v3 JSON gateway's wire format, one module: request bodies for the room directory's four
// operations and parsers for their replies. Keys and values travel as standard base64; int64 fields
// are JSON strings; fields with default values may be absent (a txn that failed has no "succeeded").
// Pure: no host calls, so every malformed, truncated or hostile reply is unit tested and never traps.
import { JSON } from "assemblyscript-json/assembly";
import { checkJson } from "../json-check";
import { base64Encode, base64Decode } from "../base64";

export const PATH_RANGE = "/v3/kv/range";
export const PATH_TXN = "/v3/kv/txn";
export const PATH_LEASE_GRANT = "/v3/lease/grant";

/** Replies larger than this are not a directory answer (one key, one value). */
export const MAX_REPLY_BYTES = 65536;

function q(s: string): string { return "\"" + s + "\""; }
function b64(s: string): string { return q(base64Encode(s)); }

function putOp(key: string, value: string, lease: string): string {
  return "{\"requestPut\":{\"key\":" + b64(key) + ",\"value\":" + b64(value) + (lease.length > 0 ? ",\"lease\":" + q(lease) : "") + "}}";
}
function rangeOp(key: string): string {
  return "{\"requestRange\":{\"key\":" + b64(key) + "}}";
}

/** Lookup: the room's pod, if any. */
export function rangeBody(key: string): string {
  return "{\"key\":" + b64(key) + "}";
}

/** First writer wins: put only if the key was never created; otherwise read the winner back. */
export function putIfAbsentBody(key: string, value: string, lease: string): string {
  return "{\"compare\":[{\"key\":" + b64(key) + ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"createRevision\":\"0\"}]," +
    "\"success\":[" + putOp(key, value, lease) + "],\"failure\":[" + rangeOp(key) + "]}";
}

/**
 * Compare-and-replace: put `value` only if the key still holds `expected` (a re-pin after a pod left, or
 * a refresh that moves the entry to a newer lease with expected == value); otherwise read what it holds.
 */
export function replaceBody(key: string, expected: string, value: string, lease: string): string {
  return "{\"compare\":[{\"key\":" + b64(key) + ",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":" + b64(expected) + "}]," +
    "\"success\":[" + putOp(key, value, lease) + "],\"failure\":[" + rangeOp(key) + "]}";
}

export function leaseGrantBody(ttlSeconds: i64): string {
  return "{\"TTL\":" + q(ttlSeconds.toString()) + "}";
}

export const enum ReplyKind {
  /** The key holds `value` (a lookup, or the winner of a write that lost). */
  Found = 0,
  /** The key does not exist. */
  Absent = 1,
  /** The write was applied. */
  Written = 2,
  /** A lease was granted: `lease` is its id. */
  Lease = 3,
  /** Not a reply of the expected shape: `error` says why. */
  Invalid = 4,
}

export class EtcdReply {
  kind: ReplyKind = ReplyKind.Invalid;
  value: string = "";
  lease: string = "";
  error: string = "";
  static invalid(error: string): EtcdReply {
    const r = new EtcdReply();
    r.error = error;
    return r;
  }
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
function firstValue(range: JSON.Obj): EtcdReply {
  const kvs = arr(range, "kvs");
  const r = new EtcdReply();
  if (kvs == null || kvs.length == 0) { r.kind = ReplyKind.Absent; return r; }
  if (!kvs[0].isObj) return EtcdReply.invalid("kvs[0] is not an object");
  const v = (<JSON.Obj>kvs[0]).get("value");
  // A key whose value is empty omits "value": not something the directory writes.
  if (v == null || !v.isString) return EtcdReply.invalid("kvs[0].value missing or not a string");
  const decoded = base64Decode((<JSON.Str>v)._str);
  if (decoded == null) return EtcdReply.invalid("kvs[0].value is not base64");
  r.kind = ReplyKind.Found;
  r.value = decoded!;
  return r;
}

/** Reply of rangeBody. */
export function parseRange(body: Uint8Array): EtcdReply {
  const o = parseObject(body);
  if (o == null) return EtcdReply.invalid("range reply is not a JSON object");
  if (o.get("error") != null) return EtcdReply.invalid("etcd error in range reply");
  return firstValue(o);
}

/** Reply of putIfAbsentBody / replaceBody: Written, or the current holder (Found), or Absent. */
export function parseTxn(body: Uint8Array): EtcdReply {
  const o = parseObject(body);
  if (o == null) return EtcdReply.invalid("txn reply is not a JSON object");
  if (o.get("error") != null) return EtcdReply.invalid("etcd error in txn reply");
  if (o.get("header") == null) return EtcdReply.invalid("txn reply without a header");
  const ok = o.get("succeeded");
  if (ok != null && ok.isBool && (<JSON.Bool>ok)._bool) {
    const r = new EtcdReply();
    r.kind = ReplyKind.Written;
    return r;
  }
  const responses = arr(o, "responses");
  if (responses == null || responses.length == 0 || !responses[0].isObj) return EtcdReply.invalid("failed txn without its range response");
  const rr = (<JSON.Obj>responses[0]).get("response_range");
  if (rr == null || !rr.isObj) return EtcdReply.invalid("failed txn without response_range");
  return firstValue(<JSON.Obj>rr);
}

/** Reply of leaseGrantBody. */
export function parseLeaseGrant(body: Uint8Array): EtcdReply {
  const o = parseObject(body);
  if (o == null) return EtcdReply.invalid("lease reply is not a JSON object");
  const id = o.get("ID");
  if (id == null || !id.isString) return EtcdReply.invalid("lease reply without an ID");
  const s = (<JSON.Str>id)._str;
  if (s.length == 0 || s.length > 20) return EtcdReply.invalid("lease ID out of range");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return EtcdReply.invalid("lease ID is not a decimal integer");
  }
  const r = new EtcdReply();
  r.kind = ReplyKind.Lease;
  r.lease = s;
  return r;
}
