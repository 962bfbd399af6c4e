// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The byte format of a list of pods with a time each, "<address> <atMs>" lines, as shared data keeps
// the pods that left a cluster and the pods whose joins failed over: parsed, trimmed and encoded here.

export class PodTime {
  constructor(
    public address: string,
    public atMs: u64,
  ) {}
}

/** The list in `raw`; malformed lines are skipped. */
export function parsePodTimes(raw: Uint8Array | null): PodTime[] {
  return raw == null ? new Array<PodTime>(0) : parsePodTimesText(String.UTF8.decodeUnsafe(raw.dataStart, raw.length));
}

/** The list in `text`; malformed lines are skipped. */
export function parsePodTimesText(text: string): PodTime[] {
  const out = new Array<PodTime>(0);
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const sp = lines[k].lastIndexOf(" ");
    if (sp > 0) out.push(new PodTime(lines[k].substring(0, sp), U64.parseInt(lines[k].substring(sp + 1))));
  }
  return out;
}

/** The last `max` entries of `list` as bytes. */
export function encodePodTimes(list: PodTime[], max: i32): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(podTimesText(list, max)));
}

/** The last `max` entries of `list` as text. */
export function podTimesText(list: PodTime[], max: i32): string {
  const from = list.length > max ? list.length - max : 0;
  const lines = new Array<string>(0);
  for (let i = from; i < list.length; i++) lines.push(list[i].address + " " + list[i].atMs.toString());
  return lines.join("\n");
}
