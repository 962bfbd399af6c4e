// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { PinBytes } from "../platform/pin-bytes";

let encodings = 0;
function countingUtf8(address: string): ArrayBuffer {
  encodings++;
  return String.UTF8.encode(address);
}
function text(b: ArrayBuffer): string {
  return String.UTF8.decode(b);
}

describe("pin bytes", () => {
  it("encodes a pod's address once and hands the same bytes back for the same string", () => {
    encodings = 0;
    const pins = new PinBytes(countingUtf8);
    const pod = "10.0.0.1:8080";
    const first = pins.of(pod);
    expect(pins.of(pod) == first).toBe(true);
    expect(text(first)).toBe(pod);
    expect(encodings).toBe(1);
  });
  it("gives every address its own bytes, whichever slots the strings share", () => {
    encodings = 0;
    const pins = new PinBytes(countingUtf8);
    const pods: string[] = [];
    for (let i = 0; i < 200; i++) pods.push("10.0." + (i >> 8).toString() + "." + (i & 255).toString() + ":8080");
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pods.length; i++) expect(text(pins.of(pods[i]))).toBe(pods[i]);
    }
  });
  it("encodes each pod of a cluster once, however their strings' addresses fall", () => {
    encodings = 0;
    const pins = new PinBytes(countingUtf8);
    const pods: string[] = [];
    for (let i = 0; i < 40; i++) pods.push("10.3.0." + i.toString() + ":8080");
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < pods.length; i++) expect(text(pins.of(pods[i]))).toBe(pods[i]);
    }
    expect(encodings).toBe(40);
  });
  it("encodes a string equal to a cached one but made apart (another object) correctly", () => {
    const pins = new PinBytes(countingUtf8);
    const a = "10.0.0.9:80";
    pins.of(a);
    const b = "10.0.0." + (9).toString() + ":80";
    expect(text(pins.of(b))).toBe(a);
  });
});
