// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { HeaderReadPlan } from "../request/header-plan";

/** Reports `n` requests of one kind. */
function report(plan: HeaderReadPlan, upgrade: bool, n: i32): void {
  for (let i = 0; i < n; i++) plan.record(upgrade);
}

describe("HeaderReadPlan", () => {
  it("reads all headers at once before it has seen any request", () => {
    expect(new HeaderReadPlan(false).readsAllHeaders()).toBe(true);
  });

  it("reads the upgrade header alone once plain requests outnumber upgrades", () => {
    const plan = new HeaderReadPlan(false);
    report(plan, true, 3);
    report(plan, false, 3);
    expect(plan.readsAllHeaders()).toBe(true);
    report(plan, false, 1);
    expect(plan.readsAllHeaders()).toBe(false);
  });

  it("remembers only recent traffic: after a long run of upgrades, seventeen plain requests switch it", () => {
    const plan = new HeaderReadPlan(false);
    report(plan, true, 100000);
    report(plan, false, 16);
    expect(plan.readsAllHeaders()).toBe(true);
    report(plan, false, 1);
    expect(plan.readsAllHeaders()).toBe(false);
  });

  it("switches back once upgrades are half again", () => {
    const plan = new HeaderReadPlan(false);
    report(plan, false, 100000);
    report(plan, true, 15);
    expect(plan.readsAllHeaders()).toBe(false);
    report(plan, true, 1);
    expect(plan.readsAllHeaders()).toBe(true);
  });

  it("always reads all headers where plain requests read the path anyway", () => {
    const plan = new HeaderReadPlan(true);
    report(plan, false, 1000);
    expect(plan.readsAllHeaders()).toBe(true);
  });
});
