// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The cluster a worker assumes for its keyed requests: when it reads, and when it stops assuming.
import { AssumedCluster, FIRST_CHECKS, CHECK_EVERY } from "../request/assumed-cluster";
import { readsEveryRequest } from "./helpers";

const GAME = "outbound|80||game.svc";
const OTHER = "outbound|80||other.svc";
const T0: u64 = 1_700_000_000_000;

/** How many of `n` keyed requests at `nowMs` may be keyed with the assumed cluster. */
function assumedOf(c: AssumedCluster, n: i32, nowMs: u64 = T0): i32 {
  let k = 0;
  for (let i = 0; i < n; i++) if (c.mayAssume(nowMs)) k++;
  return k;
}

describe("assumed cluster", () => {
  it("assumes nothing before the first read", () => {
    const c = new AssumedCluster(false, 0);
    expect(assumedOf(c, 100)).toBe(0);
  });
  it("after the first read, checks the first requests, then one in CHECK_EVERY", () => {
    const c = new AssumedCluster(false, 0);
    expect(c.confirm(GAME, T0)).toBe(true);
    expect(assumedOf(c, <i32>FIRST_CHECKS)).toBe(0);
    const n = <i32>CHECK_EVERY * 10;
    expect(assumedOf(c, n)).toBe(n - 10);
    expect(c.assumed).toBe(GAME);
  });
  it("stops assuming for good at the first read of another cluster", () => {
    const c = new AssumedCluster(false, 0);
    c.confirm(GAME, T0);
    expect(c.confirm(OTHER, T0)).toBe(false);
    expect(readsEveryRequest(c)).toBe(true);
    c.confirm(GAME, T0);
    expect(assumedOf(c, 1000)).toBe(0);
  });
  it("names the two clusters once after the assumption ended, for the log", () => {
    const c = new AssumedCluster(false, 0);
    c.confirm(GAME, T0);
    expect(c.takeEnding()).toBe("");
    c.confirm(OTHER, T0);
    c.confirm("outbound|80||third.svc", T0);
    expect(c.takeEnding()).toBe(GAME + ", " + OTHER);
    expect(c.takeEnding()).toBe("");
  });
  it("keeps assuming while reads name the same cluster, a host that names none included", () => {
    const c = new AssumedCluster(false, 0);
    c.confirm(null, T0);
    expect(c.confirm(null, T0)).toBe(true);
    expect(c.confirm(GAME, T0)).toBe(false);
  });
  it("reads every request when configured so", () => {
    const c = new AssumedCluster(true, 0);
    c.confirm(GAME, T0);
    expect(assumedOf(c, 1000)).toBe(0);
  });
  it("reads once more whenever refreshMs has passed since the last read it asked for", () => {
    const c = new AssumedCluster(false, 1000);
    c.confirm(GAME, T0);
    assumedOf(c, <i32>FIRST_CHECKS + 1, T0);
    expect(c.mayAssume(T0 + 999)).toBe(true);
    expect(c.mayAssume(T0 + 1000)).toBe(false);
    expect(c.mayAssume(T0 + 1001)).toBe(true);
    expect(c.mayAssume(T0 + 2000)).toBe(false);
  });
});
