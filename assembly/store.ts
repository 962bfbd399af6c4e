// The key-value store the affinity table and membership snapshots live in. In the plugin it is
// proxy-wasm shared data (see abi/shared-store.ts); unit tests use MemoryStore, which has the same
// CAS semantics as Envoy's SharedData (proxy-wasm-cpp-host shared_data.cc).

export const enum WriteStatus {
  Ok = 0,
  CasMismatch = 1,
}

export class StoredValue {
  constructor(public value: Uint8Array | null, public cas: u32) {}
}

export abstract class KvStore {
  /** Value and CAS token; value null (cas 0) when the key does not exist. */
  abstract get(key: string): StoredValue;
  /**
   * Writes `value`. cas 0 writes unconditionally; otherwise the write fails with CasMismatch unless the
   * key still carries `cas`. A missing key is created whatever `cas` is (the host has no create-if-absent).
   */
  abstract set(key: string, value: Uint8Array, cas: u32): WriteStatus;
}

/** In-memory store with the host's CAS rules, for unit tests and the benchmark emulator. */
export class MemoryStore extends KvStore {
  values: Map<string, Uint8Array> = new Map();
  tokens: Map<string, u32> = new Map();
  nextCas: u32 = 1;
  writes: i32 = 0;
  /** When set, called before every set (tests use it to inject a racing writer). */
  beforeSet: ((store: MemoryStore, key: string) => void) | null = null;

  get(key: string): StoredValue {
    if (!this.values.has(key)) return new StoredValue(null, 0);
    const v = this.values.get(key);
    const copy = new Uint8Array(v.length);
    copy.set(v);
    return new StoredValue(copy, this.tokens.get(key));
  }

  set(key: string, value: Uint8Array, cas: u32): WriteStatus {
    const hook = this.beforeSet;
    if (hook != null) { this.beforeSet = null; hook(this, key); }
    if (this.values.has(key) && cas != 0 && this.tokens.get(key) != cas) return WriteStatus.CasMismatch;
    const copy = new Uint8Array(value.length);
    copy.set(value);
    this.values.set(key, copy);
    this.tokens.set(key, this.nextCas++);
    this.writes++;
    return WriteStatus.Ok;
  }
}
