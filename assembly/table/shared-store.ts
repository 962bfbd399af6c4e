// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// KvStore over proxy-wasm shared data: process-wide per vm_id, CAS-checked across worker threads,
// and kept across plugin config reloads.
import { KvStore, StoredValue, WriteStatus } from "./store";
import { getSharedData, casOfLastSharedDataRead, setSharedData } from "../abi/host";

export class SharedDataStore extends KvStore {
  get(key: string): StoredValue {
    const value = getSharedData(key);
    return new StoredValue(value, casOfLastSharedDataRead());
  }
  version(key: string): i64 {
    return getSharedData(key) == null ? -1 : <i64>casOfLastSharedDataRead();
  }
  set(key: string, value: Uint8Array, cas: u32): WriteStatus {
    return setSharedData(key, value, cas) ? WriteStatus.Ok : WriteStatus.CasMismatch;
  }
}
