// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { Lease } from "../table/lease";
import { SnapshotStore } from "../membership/snapshots";
import { MemoryStore } from "./memory-store";
import { Membership, HOST_HEALTHY, HOST_DRAINING } from "../membership/membership";
import { base64Encode } from "../support/base64";

describe("lease", () => {
  it("lets one holder hold it, renew it, and another take it after expiry", () => {
    const s = new MemoryStore();
    const a = new Lease(s, "lease", "a", 3000);
    const b = new Lease(s, "lease", "b", 3000);
    expect(a.tryHold(1000)).toBe(true);
    expect(b.tryHold(1500)).toBe(false);
    expect(a.tryHold(2000)).toBe(true); // renew: now valid until 5000
    expect(b.tryHold(4999)).toBe(false);
    expect(b.tryHold(5001)).toBe(true);
    expect(a.tryHold(5002)).toBe(false);
  });
  it("takes over a lease with an unreadable value", () => {
    const s = new MemoryStore();
    s.set("lease", Uint8Array.wrap(String.UTF8.encode("garbage")), 0);
    expect(new Lease(s, "lease", "a", 1000).tryHold(1)).toBe(true);
  });
});

describe("snapshot store", () => {
  it("publishes, versions only on change, and serves from the per-thread cache", () => {
    const s = new MemoryStore();
    const writer = new SnapshotStore(s, "ra");
    const reader = new SnapshotStore(s, "ra");
    expect(reader.current("c")).toBeNull();
    const m = new Membership();
    m.add("a:1", HOST_HEALTHY);
    expect(writer.publish("c", m, 1000)).toBe(true);
    expect(reader.current("c")!.size).toBe(1);
    expect(writer.publish("c", m, 2000)).toBe(false);
    expect(reader.readVersion("c")!.version).toBe(1);
    expect(reader.readVersion("c")!.publishedAtMs).toBe(2000);
    const m2 = new Membership();
    m2.add("a:1", HOST_DRAINING);
    m2.add("b:1", HOST_HEALTHY);
    expect(writer.publish("c", m2, 3000)).toBe(true);
    expect(reader.readVersion("c")!.version).toBe(2);
    expect(reader.current("c")!.flagsOf("a:1")).toBe(HOST_DRAINING);
    // a second writer (lease moved to another thread) continues the version sequence
    const other = new SnapshotStore(s, "ra");
    expect(other.publish("c", m, 4000)).toBe(true);
    expect(reader.readVersion("c")!.version).toBe(3);
    expect(reader.current("c")!.size).toBe(1);
  });
});

describe("base64", () => {
  it("encodes as RFC 4648 with padding", () => {
    expect(base64Encode("127.0.0.1:18001")).toBe("MTI3LjAuMC4xOjE4MDAx");
    expect(base64Encode("a")).toBe("YQ==");
    expect(base64Encode("ab")).toBe("YWI=");
    expect(base64Encode("abc")).toBe("YWJj");
    expect(base64Encode("")).toBe("");
  });
});
