// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { expectContains } from "./helpers";
import {
  Membership,
  HOST_HEALTHY,
  HOST_DRAINING,
  encodeSnapshot,
  decodeSnapshot,
  parseAdminClusters,
  membershipFromHostPairs,
  rankPods,
  ATTEMPTS_PER_JOIN,
} from "../membership/membership";
import { PodTime } from "../membership/pod-times";
import { SnapshotStore } from "../membership/snapshots";
import { MemoryStore } from "./memory-store";

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

const ADMIN_BODY =
  '{"cluster_statuses":[' +
  '{"name":"room_affinity_admin","host_statuses":[{"address":{"socket_address":{"address":"127.0.0.1","port_value":9901}},"health_status":{"eds_health_status":"HEALTHY"}}]},' +
  '{"name":"game_pods","added_via_api":true,"host_statuses":[' +
  '{"address":{"socket_address":{"address":"127.0.0.1","port_value":18001}},"health_status":{"eds_health_status":"HEALTHY"}},' +
  '{"address":{"socket_address":{"address":"127.0.0.1","port_value":18002}},"health_status":{"eds_health_status":"DRAINING"}},' +
  '{"address":{"socket_address":{"address":"127.0.0.1","port_value":18003}},"health_status":{"failed_active_health_check":true,"eds_health_status":"HEALTHY"}},' +
  '{"address":{"socket_address":{"address":"::1","port_value":18004}},"health_status":{}},' +
  '{"address":{"socket_address":{"address":"127.0.0.1","port_value":18005}},"health_status":{"eds_health_status":"HEALTHY","pending_dynamic_removal":true}}' +
  "]}]}";

describe("membership", () => {
  it("counts only healthy, non-draining hosts as taking new rooms", () => {
    const m = new Membership();
    m.add("a:1", HOST_DRAINING);
    m.add("b:1", 0);
    m.add("c:1", HOST_HEALTHY);
    expect(m.eligibleCount()).toBe(1);
    expect(m.flagsOf("a:1")).toBe(HOST_DRAINING);
    expect(m.flagsOf("gone:1")).toBe(-1);
  });
});

describe("membership snapshot", () => {
  it("round-trips", () => {
    const m = new Membership();
    m.add("10.0.0.1:80", HOST_HEALTHY);
    m.add("[::1]:81", HOST_DRAINING);
    m.add("10.0.0.3:80", 0);
    const d = decodeSnapshot(encodeSnapshot(m))!;
    expect(d.size).toBe(3);
    expect(d.flagsOf("[::1]:81")).toBe(HOST_DRAINING);
    expect(d.flagsOf("10.0.0.3:80")).toBe(0);
    expect(d.flagsOf("10.0.0.1:80")).toBe(HOST_HEALTHY);
  });
  it("rejects malformed snapshots", () => {
    expect(decodeSnapshot("v2\n")).toBeNull();
    expect(decodeSnapshot("v1\nnoflags\n")).toBeNull();
    expect(decodeSnapshot("v1\na:1 9\n")).toBeNull();
  });
  it("ignores duplicate and over-long addresses", () => {
    const m = new Membership();
    m.add("a:1", HOST_HEALTHY);
    m.add("a:1", 0);
    let long = "";
    for (let i = 0; i < 70; i++) long += "x";
    m.add(long, HOST_HEALTHY);
    expect(m.size).toBe(1);
    expect(m.flagsOf("a:1")).toBe(HOST_HEALTHY);
  });
});

describe("admin /clusters parsing", () => {
  it("reads hosts, health and draining per cluster, skipping the admin cluster", () => {
    const p = parseAdminClusters(bytes(ADMIN_BODY), "room_affinity_admin");
    expect(p.error).toBe("");
    expect(p.clusters.length).toBe(1);
    const m = p.clusters[0].members;
    expect(p.clusters[0].cluster).toBe("game_pods");
    expect(m.size).toBe(4);
    expect(m.flagsOf("127.0.0.1:18001")).toBe(HOST_HEALTHY);
    expect(m.flagsOf("127.0.0.1:18002")).toBe(HOST_DRAINING);
    expect(m.flagsOf("127.0.0.1:18003")).toBe(0);
    expect(m.flagsOf("[::1]:18004")).toBe(HOST_HEALTHY);
    expect(m.flagsOf("127.0.0.1:18005")).toBe(-1); // removed from EDS, kept by Envoy: not a member
  });
  it("reports bad bodies without trapping", () => {
    expectContains(parseAdminClusters(bytes("<html>"), "").error, "invalid JSON");
    expect(parseAdminClusters(bytes("[]"), "").error).toBe("admin /clusters: expected an object");
    expectContains(parseAdminClusters(bytes('{"cluster_statuses":{}}'), "").error, "not an array");
    expect(parseAdminClusters(bytes("{}"), "").clusters.length).toBe(0);
  });
});

describe("Higress upstream host pairs", () => {
  it("maps health_status to flags", () => {
    const m = membershipFromHostPairs([
      ["10.0.0.1:80", '{"health_status":"Healthy"}'],
      ["10.0.0.2:80", '{"health_status":"Draining"}'],
      ["10.0.0.3:80", '{"health_status":"Unhealthy"}'],
      ["10.0.0.4:80", "not json"],
    ]);
    expect(m.flagsOf("10.0.0.1:80")).toBe(HOST_HEALTHY);
    expect(m.flagsOf("10.0.0.2:80")).toBe(HOST_DRAINING);
    expect(m.flagsOf("10.0.0.3:80")).toBe(0);
    expect(m.flagsOf("10.0.0.4:80")).toBe(0);
  });

  it("ranks a room's next pods among the healthy ones other than its pod, the same for equal views", () => {
    const a = new Membership();
    const b = new Membership();
    for (let i = 0; i < 8; i++) a.add("10.0.0." + i.toString() + ":80", i == 2 ? HOST_DRAINING : i == 5 ? 0 : HOST_HEALTHY);
    // The same pods listed in another order rank the same.
    for (let i = 7; i >= 0; i--) b.add("10.0.0." + i.toString() + ":80", i == 2 ? HOST_DRAINING : i == 5 ? 0 : HOST_HEALTHY);
    const ra = new Array<string>(0);
    const rb = new Array<string>(0);
    for (let room: u64 = 1; room <= 200; room++) {
      expect(rankPods(room * 0x9e3779b97f4a7c15, a, "10.0.0.1:80", ra)).not.toBe(0);
      rankPods(room * 0x9e3779b97f4a7c15, b, "10.0.0.1:80", rb);
      expect(ra.length).toBe(ATTEMPTS_PER_JOIN - 1);
      expect(ra.join(",")).toBe(rb.join(","));
      expect(ra.includes("10.0.0.1:80")).toBe(false, "the room's own pod");
      expect(ra.includes("10.0.0.2:80")).toBe(false, "a draining pod");
      expect(ra.includes("10.0.0.5:80")).toBe(false, "an unhealthy pod");
      expect(ra[0] != ra[1] && ra[1] != ra[2] && ra[0] != ra[2]).toBe(true);
    }
  });

  it("moves only the rooms a removed pod was first for", () => {
    const all = new Membership();
    const fewer = new Membership();
    for (let i = 0; i < 6; i++) {
      all.add("10.0.1." + i.toString() + ":80", HOST_HEALTHY);
      if (i != 3) fewer.add("10.0.1." + i.toString() + ":80", HOST_HEALTHY);
    }
    const r1 = new Array<string>(0);
    const r2 = new Array<string>(0);
    let firsts = 0;
    for (let room: u64 = 1; room <= 600; room++) {
      rankPods(room * 0x2545f4914f6cdd1d, all, "", r1);
      rankPods(room * 0x2545f4914f6cdd1d, fewer, "", r2);
      if (r1[0] == "10.0.1.3:80") {
        firsts++;
        expect(r2[0]).toBe(r1[1]);
      } else expect(r2[0]).toBe(r1[0]);
    }
    // About a sixth of the rooms had the removed pod first.
    expect(firsts > 60 && firsts < 150).toBe(true);
  });

  it("ranks a new room's pods for every attempt, then its next pods once it is on the first", () => {
    const m = new Membership();
    for (let i = 0; i < 9; i++) m.add("10.0.3." + i.toString() + ":80", i == 4 ? 0 : HOST_HEALTHY);
    const placing = new Array<string>(0);
    const pinned = new Array<string>(0);
    for (let room: u64 = 1; room <= 200; room++) {
      expect(rankPods(room * 0x9e3779b97f4a7c15, m, "", placing)).not.toBe(0);
      expect(placing.length).toBe(ATTEMPTS_PER_JOIN);
      expect(placing.includes("10.0.3.4:80")).toBe(false, "an unhealthy pod");
      rankPods(room * 0x9e3779b97f4a7c15, m, placing[0], pinned);
      expect(pinned.join(",")).toBe(placing.slice(1).join(","));
    }
  });

  it("ranks nothing when no other pod is healthy", () => {
    const m = new Membership();
    m.add("10.0.2.1:80", HOST_HEALTHY);
    m.add("10.0.2.2:80", HOST_DRAINING);
    const out = ["stale"];
    expect(rankPods(42, m, "10.0.2.1:80", out)).toBe(0);
    expect(out.length).toBe(0);
  });
});

function members(addresses: string[]): Membership {
  const m = new Membership();
  for (let i = 0; i < addresses.length; i++) m.add(addresses[i], HOST_HEALTHY);
  return m;
}

describe("membership snapshots: pods that left", () => {
  it("remembers a pod that left a published membership, and forgets it when it comes back", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", members(["10.0.4.1:80", "10.0.4.2:80"]), 1000);
    expect(snapshots.hasLeft("10.0.4.2:80")).toBe(false, "a member");
    expect(snapshots.hasLeft("10.0.4.9:80")).toBe(false, "a pod never seen: maybe one not learned of yet");
    snapshots.publish("game", members(["10.0.4.1:80", "10.0.4.3:80"]), 2000);
    expect(snapshots.hasLeft("10.0.4.2:80")).toBe(true);
    expect(snapshots.hasLeft("10.0.4.3:80")).toBe(false, "a pod that joined");
    snapshots.publish("game", members(["10.0.4.1:80", "10.0.4.2:80", "10.0.4.3:80"]), 3000);
    expect(snapshots.hasLeft("10.0.4.2:80")).toBe(false, "back in the cluster");
  });

  it("forgets a pod that left more than an hour ago", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", members(["10.0.5.1:80", "10.0.5.2:80"]), 1000);
    snapshots.publish("game", members(["10.0.5.1:80"]), 2000);
    // Another pod leaves an hour and more later: the list is rewritten without the first.
    snapshots.publish("game", members(["10.0.5.1:80", "10.0.5.3:80"]), 3000);
    snapshots.publish("game", members(["10.0.5.1:80"]), 2000 + 3600 * 1000 + 1);
    expect(snapshots.hasLeft("10.0.5.2:80")).toBe(false);
    expect(snapshots.hasLeft("10.0.5.3:80")).toBe(true);
  });
});

describe("membership snapshots: pods whose joins failed over", () => {
  it("keeps the latest failure of each pod", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    expect(snapshots.failures().length).toBe(0);
    snapshots.recordFailure("10.0.6.1:80", 1000);
    snapshots.recordFailure("10.0.6.2:80", 1500);
    snapshots.recordFailure("10.0.6.1:80", 4000);
    const f = snapshots.failures();
    expect(f.length).toBe(2);
    expect(f[0].address).toBe("10.0.6.2:80");
    expect(f[0].atMs).toBe(1500);
    expect(f[1].address).toBe("10.0.6.1:80");
    expect(f[1].atMs).toBe(4000);
  });

  it("forgets a failure older than ten minutes when it writes the list", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.recordFailure("10.0.7.1:80", 1000);
    snapshots.recordFailure("10.0.7.2:80", 1000 + 600 * 1000 + 1);
    const f = snapshots.failures();
    expect(f.length).toBe(1);
    expect(f[0].address).toBe("10.0.7.2:80");
  });

  it("skips malformed lines of the stored list", () => {
    const store = new MemoryStore();
    const snapshots = new SnapshotStore(store, "ra");
    store.set(snapshots.failedKey(), bytes("garbage\n10.0.8.1:80 2000\n"), 0);
    const f = snapshots.failures();
    expect(f.length).toBe(1);
    expect(f[0].atMs).toBe(2000);
  });
});

describe("membership snapshots: failures other replicas shared", () => {
  it("merges each pod's later failure, and counts only what was new here", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.recordFailure("10.0.6.1:80", 5000);
    const shared = [new PodTime("10.0.6.1:80", 4000), new PodTime("10.0.6.2:80", 3000), new PodTime("10.0.6.3:80", 6000)];
    expect(snapshots.mergeFailures(shared, 7000)).toBe(2);
    const f = snapshots.failures();
    expect(f.length).toBe(3);
    expect(f[0].address).toBe("10.0.6.2:80");
    expect(f[0].atMs).toBe(3000);
    expect(f[1].address).toBe("10.0.6.1:80");
    expect(f[1].atMs).toBe(5000); // the later failure, here, stands
    expect(f[2].address).toBe("10.0.6.3:80");
    expect(snapshots.mergeFailures(shared, 7000)).toBe(0);
  });
  it("dates a failure from a clock ahead of this one no later than now, and skips one older than ten minutes", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    const shared = [new PodTime("10.0.7.1:80", 900_000), new PodTime("10.0.7.2:80", 1000)];
    expect(snapshots.mergeFailures(shared, 800_000)).toBe(1);
    const f = snapshots.failures();
    expect(f.length).toBe(1);
    expect(f[0].address).toBe("10.0.7.1:80");
    expect(f[0].atMs).toBe(800_000);
  });
  it("shares its list as the lines it keeps", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    expect(snapshots.failuresText()).toBe("");
    snapshots.recordFailure("10.0.8.1:80", 1000);
    snapshots.recordFailure("10.0.8.2:80", 2000);
    expect(snapshots.failuresText()).toBe("10.0.8.1:80 1000\n10.0.8.2:80 2000");
  });
});

describe("membership snapshots: pods the health check began failing", () => {
  it("counts a healthy pod turned unhealthy as a failure, not one turned draining or one that left", () => {
    const snapshots = new SnapshotStore(new MemoryStore(), "ra");
    snapshots.publish("game", members(["10.0.9.1:80", "10.0.9.2:80", "10.0.9.3:80", "10.0.9.4:80"]), 1000);
    const after = new Membership();
    after.add("10.0.9.1:80", HOST_HEALTHY);
    after.add("10.0.9.2:80", 0);
    after.add("10.0.9.3:80", HOST_DRAINING);
    snapshots.publish("game", after, 2000);
    const f = snapshots.failures();
    expect(f.length).toBe(1);
    expect(f[0].address).toBe("10.0.9.2:80");
    expect(f[0].atMs).toBe(2000);
  });
});
