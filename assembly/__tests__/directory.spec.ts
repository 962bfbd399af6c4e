// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The room directory without a host: coalesced lookups, the cap on lookups in flight, the tick
// backstop for replies that never come, leases, and what replies become. Transport is a fake that
// records requests; replies are fed by hand (etcd's JSON shapes, base64 values).
import { parseConfig, DirectoryConfig } from "../config/config";
import { RoomDirectory, DirectoryTransport, LookupStart, EventKind, CallKind, isPodAddress, FAILED_PODS_KEY } from "../directory/directory";
import { DirectoryRequest, ReplyKind } from "../directory/protocol";
import { EtcdProtocol, parseRange, parseTxn, parseLeaseGrant } from "../directory/etcd";
import { base64Decode, base64Encode } from "../support/base64";

class RecordingTransport extends DirectoryTransport {
  sent: DirectoryRequest[] = [];
  refuse: bool = false;
  send(request: DirectoryRequest): i64 {
    if (this.refuse) return -1;
    this.sent.push(request);
    return <i64>this.sent.length;
  }
}

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
const POD = "10.0.0.7:8080";
const FOUND_BODY = '{"header":{},"kvs":[{"key":"eA==","value":"' + base64Encode(POD) + '"}],"count":"1"}';
const ABSENT_BODY = '{"header":{}}';
const LEASE_BODY = '{"header":{},"ID":"7587862","TTL":"90"}';

function config(json: string = '{"directory":{"maxLookupsInFlight":2,"timeoutMs":100}}'): DirectoryConfig {
  return parseConfig(bytes(json)).config!.directory!;
}

function directory(t: RecordingTransport): RoomDirectory {
  return new RoomDirectory(config(), 60, new EtcdProtocol(), t);
}

describe("room directory", () => {
  it("coalesces concurrent lookups of one room into one request, and resumes every waiter with the pod", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    expect(d.lookup(1, 10, 0)).toBe(LookupStart.Waiting);
    expect(d.lookup(1, 11, 0)).toBe(LookupStart.Waiting);
    expect(t.sent.length).toBe(1);
    const e = d.onReply(1, "", false, bytes(FOUND_BODY), 5)!;
    expect(e.kind).toBe(EventKind.LookupDone);
    expect(e.address).toBe(POD);
    expect(e.waiters.length).toBe(2);
  });
  it("answers Busy beyond maxLookupsInFlight, and Failed when nothing can be sent (fail open)", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    d.lookup(1, 10, 0);
    d.lookup(2, 11, 0);
    expect(d.lookup(3, 12, 0)).toBe(LookupStart.Busy);
    t.refuse = true;
    const d2 = directory(t);
    expect(d2.lookup(4, 13, 0)).toBe(LookupStart.Failed);
  });
  it("resumes waiters of a lookup whose reply never comes, on the tick after twice the timeout", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    d.lookup(1, 10, 0);
    expect(d.onTick(150).filter((e) => e.kind == EventKind.LookupDone).length).toBe(0);
    const stuck = d.onTick(250).filter((e) => e.kind == EventKind.LookupDone);
    expect(stuck.length).toBe(1);
    expect(stuck[0].waiters[0]).toBe(10);
    expect(stuck[0].timedOut).toBe(true);
    // A late reply is not the directory's any more.
    expect(d.onReply(1, "", false, bytes(FOUND_BODY), 300)).toBeNull();
  });
  it("writes nothing before it holds a lease, then attaches writes to it", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    expect(d.claim(1, POD, 0)).toBe(false);
    d.onTick(0);
    expect(t.sent[0].path).toBe("/v3/lease/grant");
    d.onReply(1, "", false, bytes(LEASE_BODY), 1);
    expect(d.lease).toBe("7587862");
    expect(d.claim(1, POD, 2)).toBe(true);
    expect(t.sent[1].body.includes('"lease":"7587862"')).toBe(true);
  });
  it("reports a lost write with the directory's pod, and a store failure with its reason", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    d.onTick(0);
    d.onReply(1, "", false, bytes(LEASE_BODY), 1);
    d.claim(9, "10.0.0.1:80", 2);
    const lost = '{"header":{},"responses":[{"response_range":{"kvs":[{"key":"eA==","value":"' + base64Encode(POD) + '"}]}}]}';
    const e = d.onReply(2, "", false, bytes(lost), 3)!;
    expect(e.kind).toBe(EventKind.WriteDone);
    expect(e.address).toBe(POD);
    d.lookup(5, 20, 4);
    const f = d.onReply(3, "answered 503", false, new Uint8Array(0), 5)!;
    expect(f.failure).toBe("answered 503");
    expect(f.waiters[0]).toBe(20);
    expect(f.address).toBe("");
  });
  it("never uses a directory value that is not a pod address", () => {
    const t = new RecordingTransport();
    const d = directory(t);
    d.lookup(1, 10, 0);
    const junk = '{"header":{},"kvs":[{"key":"eA==","value":"' + base64Encode("evil.example.com:80; rm") + '"}]}';
    const e = d.onReply(1, "", false, bytes(junk), 1)!;
    expect(e.address).toBe("");
    expect(e.failure.includes("not a pod address")).toBe(true);
    expect(isPodAddress("10.0.0.1:8080")).toBe(true);
    expect(isPodAddress("[::1]:80")).toBe(true);
    expect(isPodAddress("host:80")).toBe(false);
    expect(isPodAddress("10.0.0.1:")).toBe(false);
  });
});

describe("etcd replies", () => {
  it("reads found, absent, written and lease replies", () => {
    expect(parseRange(bytes(FOUND_BODY)).value).toBe(POD);
    expect(parseRange(bytes(ABSENT_BODY)).kind).toBe(ReplyKind.Absent);
    expect(parseTxn(bytes('{"header":{},"succeeded":true}')).kind).toBe(ReplyKind.Written);
    expect(parseLeaseGrant(bytes(LEASE_BODY)).lease).toBe("7587862");
  });
  it("turns malformed, truncated, errored and hostile replies into invalid ones, never a trap", () => {
    const bad = [
      "",
      "{",
      "[]",
      '{"error":"etcdserver: request timed out"}',
      '{"header":{},"kvs":[1]}',
      '{"header":{},"kvs":[{"value":"***"}]}',
      '{"header":{}, "responses":[]}',
      '{"ID":"12a"}',
      '{"ID":"123456789012345678901"}',
    ];
    for (let i = 0; i < bad.length; i++) {
      expect(parseRange(bytes(bad[i])).kind == ReplyKind.Found).toBe(false);
      expect(parseTxn(bytes(bad[i])).kind == ReplyKind.Written).toBe(false);
      expect(parseLeaseGrant(bytes(bad[i])).kind).toBe(ReplyKind.Invalid);
    }
    const full = FOUND_BODY;
    for (let n = 0; n < full.length; n++) expect(parseRange(bytes(full.substring(0, n))).kind == ReplyKind.Found).toBe(false);
  });
  it("decodes base64 strictly", () => {
    expect(base64Decode(base64Encode("10.0.0.1:8080"))!).toBe("10.0.0.1:8080");
    expect(base64Decode("abc")).toBeNull();
    expect(base64Decode("a=bc")).toBeNull();
    expect(base64Decode("****")).toBeNull();
    expect(base64Decode("")!).toBe("");
  });
});

const LIST = "10.0.0.7:8080 1000\n10.0.0.8:8080 2000";

/** A directory holding a lease, its lease request cleared from the transport's record (tokens start at 1 again). */
function leased(t: RecordingTransport): RoomDirectory {
  const d = directory(t);
  d.onTick(0);
  d.onReply(1, "", false, bytes(LEASE_BODY), 1);
  t.sent = [];
  return d;
}

describe("room directory: the failed-pod list the replicas share", () => {
  it("reads the list under its own key, one call at a time, and hands it back as read", () => {
    const t = new RecordingTransport();
    const d = leased(t);
    expect(d.readFailures(10)).toBe(true);
    expect(d.readFailures(10)).toBe(false);
    expect(t.sent.length).toBe(1);
    expect(t.sent[0].body.includes(base64Encode("room-affinity/" + FAILED_PODS_KEY))).toBe(true);
    const e = d.onReply(1, "", false, bytes('{"header":{},"kvs":[{"key":"eA==","value":"' + base64Encode(LIST) + '"}]}'), 12)!;
    expect(e.kind).toBe(EventKind.FailuresDone);
    expect(e.callKind).toBe(CallKind.FailuresRead);
    expect(e.address).toBe(LIST); // not a pod address, and not refused as one
    expect(d.readFailures(13)).toBe(true);
  });
  it("writes a list where none was only if still none, and over one read only if unchanged", () => {
    const t = new RecordingTransport();
    const d = leased(t);
    expect(d.writeFailures("", LIST, 10)).toBe(true);
    expect(t.sent[0].body.includes('"target":"CREATE"')).toBe(true);
    d.onReply(1, "", false, bytes('{"header":{},"succeeded":true}'), 11);
    expect(d.writeFailures(LIST, LIST + "\n10.0.0.9:8080 3000", 12)).toBe(true);
    expect(t.sent[1].body.includes('"target":"VALUE"')).toBe(true);
    expect(t.sent[1].body.includes(base64Encode(LIST))).toBe(true);
  });
  it("frees the list's one call when its reply never comes or fails, without touching room lookups", () => {
    const t = new RecordingTransport();
    const d = leased(t);
    d.readFailures(10);
    const stuck = d.onTick(1000).filter((e) => e.kind == EventKind.FailuresDone);
    expect(stuck.length).toBe(1);
    expect(stuck[0].failure.length).toBeGreaterThan(0);
    expect(d.readFailures(1001)).toBe(true);
    const failed = d.onReply(<i64>t.sent.length, "", false, bytes("not json"), 1002)!;
    expect(failed.kind).toBe(EventKind.FailuresDone);
    expect(failed.address).toBe("");
    expect(d.readFailures(1003)).toBe(true);
  });
});
