// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The key-value store the affinity table, membership snapshots and the lease live in. In the plugin
// it is proxy-wasm shared data (shared-store.ts); the unit tests use an in-memory store with the
// same CAS rules (__tests__/memory-store.ts).

export const enum WriteStatus {
  Ok = 0,
  CasMismatch = 1,
}

export class StoredValue {
  constructor(
    public value: Uint8Array | null,
    public cas: u32,
  ) {}
}

export abstract class KvStore {
  /** Value and CAS token; value null (cas 0) when the key does not exist. */
  abstract get(key: string): StoredValue;
  /**
   * The key's CAS token, or -1 when the key does not exist, without its value: for a stamp (an empty
   * value whose token is all that counts), read on every join.
   */
  abstract version(key: string): i64;
  /**
   * Writes `value`. cas 0 writes unconditionally; otherwise the write fails with CasMismatch unless the
   * key still carries `cas`. A missing key is created whatever `cas` is (the host has no create-if-absent).
   */
  abstract set(key: string, value: Uint8Array, cas: u32): WriteStatus;
}
