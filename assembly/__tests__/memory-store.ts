// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Test fixture: an in-memory KvStore with the CAS rules of Envoy's SharedData
// (proxy-wasm-cpp-host shared_data.cc), plus a hook to inject a racing writer.
import { KvStore, StoredValue, WriteStatus } from "../table/store";
import { AffinityTable } from "../table/table";
import { Entry, decodeBucket, isExpired } from "../table/bucket";

export type BeforeSet = (store: MemoryStore, key: string) => void;
/** The hook that does nothing (the default, and what a test sets to stop a racer). */
export function noHook(store: MemoryStore, key: string): void {}

export class MemoryStore extends KvStore {
  values: Map<string, Uint8Array> = new Map();
  tokens: Map<string, u32> = new Map();
  nextCas: u32 = 1;
  writes: i32 = 0;
  /** Writes per key (a bucket write is followed by a write of its stamp). */
  keyWrites: Map<string, i32> = new Map();
  /** Reads per key. */
  keyReads: Map<string, i32> = new Map();
  /** Called once before the next set (tests use it to inject a racing writer). */
  beforeSet: BeforeSet = noHook;

  get(key: string): StoredValue {
    this.keyReads.set(key, this.readsOf(key) + 1);
    if (!this.values.has(key)) return new StoredValue(null, 0);
    const v = this.values.get(key);
    const copy = new Uint8Array(v.length);
    copy.set(v);
    return new StoredValue(copy, this.tokens.get(key));
  }

  version(key: string): i64 {
    this.keyReads.set(key, this.readsOf(key) + 1);
    return this.values.has(key) ? <i64>this.tokens.get(key) : -1;
  }

  set(key: string, value: Uint8Array, cas: u32): WriteStatus {
    const hook = this.beforeSet;
    this.beforeSet = noHook;
    hook(this, key);
    if (this.values.has(key) && cas != 0 && this.tokens.get(key) != cas) return WriteStatus.CasMismatch;
    const copy = new Uint8Array(value.length);
    copy.set(value);
    this.values.set(key, copy);
    this.tokens.set(key, this.nextCas++);
    this.writes++;
    this.keyWrites.set(key, this.writesOf(key) + 1);
    return WriteStatus.Ok;
  }

  writesOf(key: string): i32 {
    return this.keyWrites.has(key) ? this.keyWrites.get(key) : 0;
  }
  readsOf(key: string): i32 {
    return this.keyReads.has(key) ? this.keyReads.get(key) : 0;
  }
}

/** Reads a room's live entry from a table, if any (no write). */
export function lookup(t: AffinityTable, fingerprint: u64, now: u32): Entry | null {
  const entries = decodeBucket(t.store.get(t.bucketKey(t.bucketOf(fingerprint))).value);
  if (entries == null) return null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.fingerprint == fingerprint) return isExpired(e.lastSeen, now, t.ttlSeconds) ? null : e;
  }
  return null;
}
