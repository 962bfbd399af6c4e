// KvStore over proxy-wasm shared data: process-wide per vm_id, CAS-checked across worker threads,
// and kept across plugin config reloads.
import { KvStore, StoredValue, WriteStatus } from "../store";
import { getSharedData, setSharedData } from "./host";
import { Status } from "./imports";

export class SharedDataStore extends KvStore {
  get(key: string): StoredValue {
    return getSharedData(key);
  }
  set(key: string, value: Uint8Array, cas: u32): WriteStatus {
    return setSharedData(key, value, cas) == Status.CasMismatch ? WriteStatus.CasMismatch : WriteStatus.Ok;
  }
}
