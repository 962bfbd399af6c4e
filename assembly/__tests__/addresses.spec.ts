// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { AddressNames } from "../table/addresses";

/** Two pods of a cluster, as a bucket holds their addresses (UTF-8 bytes). */
const POD_A = "10.0.0.1:8080";
const POD_B = "10.0.0.2:8080";

function nameOf(names: AddressNames, address: string): string {
  const b = String.UTF8.encode(address);
  return names.nameAt(changetype<usize>(b), b.byteLength);
}

describe("AddressNames", () => {
  it("hands back the address the bytes spell", () => {
    const names = new AddressNames();
    expect(nameOf(names, POD_A)).toBe(POD_A);
    expect(nameOf(names, POD_B)).toBe(POD_B);
  });

  it("hands back the same string for the same bytes read again", () => {
    const names = new AddressNames();
    const first = nameOf(names, POD_A);
    expect(changetype<usize>(nameOf(names, POD_A))).toBe(changetype<usize>(first));
  });

  it("keeps addresses apart when many pods share the slots", () => {
    const names = new AddressNames();
    // 2,000 addresses over 256 slots: every slot is shared, and each lookup still spells its own address.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2000; i++) {
        const a = "10.1." + (i / 250).toString() + "." + (i % 250).toString() + ":8080";
        expect(nameOf(names, a)).toBe(a);
      }
    }
  });

  it("hands back one string per pod for a whole cluster, whatever slots their bytes hash to", () => {
    const names = new AddressNames();
    const first: string[] = [];
    for (let i = 0; i < 150; i++) first.push(nameOf(names, "10.2.0." + i.toString() + ":8080"));
    for (let i = 0; i < 150; i++) {
      expect(changetype<usize>(nameOf(names, "10.2.0." + i.toString() + ":8080"))).toBe(changetype<usize>(first[i]));
    }
  });

  it("tells apart addresses that differ only in length", () => {
    const names = new AddressNames();
    expect(nameOf(names, "10.0.0.1:80")).toBe("10.0.0.1:80");
    expect(nameOf(names, "10.0.0.1:8")).toBe("10.0.0.1:8");
    expect(nameOf(names, "")).toBe("");
  });
});
