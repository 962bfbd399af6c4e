// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Table history: the geometries (sharedDataPrefix, capacity, bucketSize) a plugin has used, so a
// configuration that changes them does not lose pins. A different geometry is a different table
// (bucket count and prefix are part of its keys); the new one starts empty. On a miss, the decision
// reads through to the previous tables, newest first, and carries a room it finds into the new table.
// A previous table is consulted until entryTtlSeconds after it was superseded (by then every entry
// in it has expired), so the extra read on misses ends by itself.
//
// Byte format, one module (like the snapshot codec in membership.ts): "h1\n" then one line per table,
// newest first: "<prefix> <capacity> <bucketSize> <supersededAtSeconds>\n" (0 = in force).
import { KvStore, WriteStatus } from "./store";
import { AffinityTable } from "./table";

/** Tables remembered per plugin (the one in force plus this many previous). */
export const MAX_REMEMBERED = 4;
const MAX_CAS_ATTEMPTS = 8;

export class Geometry {
  constructor(
    public prefix: string,
    public capacity: i32,
    public bucketSize: i32,
    public supersededAt: u32,
  ) {}

  sameTable(o: Geometry): bool {
    return this.prefix == o.prefix && this.capacity == o.capacity && this.bucketSize == o.bucketSize;
  }
}

export function encodeHistory(list: Geometry[]): Uint8Array {
  let s = "h1\n";
  for (let i = 0; i < list.length; i++) {
    const g = list[i];
    s += g.prefix + " " + g.capacity.toString() + " " + g.bucketSize.toString() + " " + g.supersededAt.toString() + "\n";
  }
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Decodes a history; an unreadable one decodes as empty (it is only an optimisation for misses). */
export function decodeHistory(raw: Uint8Array | null): Geometry[] {
  const out = new Array<Geometry>(0);
  if (raw == null) return out;
  const s = String.UTF8.decodeUnsafe(raw.dataStart, raw.length);
  if (!s.startsWith("h1\n")) return out;
  const lines = s.split("\n");
  for (let i = 1; i < lines.length && out.length < MAX_REMEMBERED; i++) {
    const parts = lines[i].split(" ");
    if (parts.length != 4 || parts[0].length == 0) continue;
    const cap = I32.parseInt(parts[1]);
    const size = I32.parseInt(parts[2]);
    const at = I64.parseInt(parts[3]);
    if (cap <= 0 || size <= 0 || at < 0 || at > <i64>U32.MAX_VALUE) continue;
    out.push(new Geometry(parts[0], cap, size, <u32>at));
  }
  return out;
}

/** The previous tables a decision reads through on a miss. */
export class TableHistory {
  constructor(public tables: AffinityTable[]) {}

  /** on_request_headers: the room's pod in the newest previous table that has it unexpired, else "". */
  find(fingerprint: u64, now: u32): string {
    for (let i = 0; i < this.tables.length; i++) {
      const a = this.tables[i].peek(fingerprint, now);
      if (a.length > 0) return a;
    }
    return "";
  }
}

/**
 * on_configure: records `current` as the table in force under `historyKey` (marking the one
 * it replaces as superseded now) and returns the previous tables still worth reading (same store,
 * TTL and refresh interval as `table`), or null.
 */
export function recordGeometry(store: KvStore, historyKey: string, table: AffinityTable, now: u32): TableHistory | null {
  const current = new Geometry(table.prefix, table.capacity, table.bucketSize, 0);
  const ttlSeconds = table.ttlSeconds;
  let list = new Array<Geometry>(0);
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const sv = store.get(historyKey);
    list = decodeHistory(sv.value);
    if (list.length > 0 && list[0].sameTable(current)) break; // in force already (another thread, or a reload)
    const next = new Array<Geometry>(0);
    next.push(new Geometry(current.prefix, current.capacity, current.bucketSize, 0));
    for (let i = 0; i < list.length && next.length < MAX_REMEMBERED; i++) {
      const g = list[i];
      if (g.sameTable(current)) continue;
      if (g.supersededAt == 0) g.supersededAt = now;
      if (now - min<u32>(now, g.supersededAt) >= ttlSeconds) continue; // fully expired: forget it
      next.push(g);
    }
    if (store.set(historyKey, encodeHistory(next), sv.cas) == WriteStatus.Ok) {
      list = next;
      break;
    }
  }
  const tables = new Array<AffinityTable>(0);
  for (let i = 0; i < list.length; i++) {
    const g = list[i];
    if (g.sameTable(current) || g.supersededAt == 0) continue;
    if (now - min<u32>(now, g.supersededAt) >= ttlSeconds) continue;
    const t = new AffinityTable(store, g.prefix, g.capacity, g.bucketSize, table.ttlSeconds, table.refreshSeconds);
    if (t.keyPrefix != table.keyPrefix) tables.push(t); // same keys as the table in force: nothing to read
  }
  return tables.length > 0 ? new TableHistory(tables) : null;
}
