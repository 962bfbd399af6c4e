// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Build target for the benchmark probe (build/probe.wasm), not the plugin: the floor (./floor.ts) plus
// `count` calls of one host function in every request hook, chosen by the plugin configuration
// "<call>:<count>" (PROBE_CALLS). `npm run bench` runs it beside the floor through real Envoy, so
// (probe - floor) / count is what one such call costs Envoy: the price list that, with the plugin's
// exact host calls per handshake (tools/lib/handshake-profile.ts), attributes the plugin's cost.
// "join:<ip:port>" makes it the join probe instead: once per request, only what any room-affinity
// plugin must do on this ABI (read :path, hash it, read one empty shared-data value, write the room
// hash and the pin): the floor of such plugins, which the bench sets the plugin's count against.
import "../abi/abort";
import { BufferType, MapType, MetricType } from "../abi/imports";
import {
  allocateForHost,
  getBuffer,
  fromUtf8,
  HostName,
  getHeaderBytes,
  replaceHeaderBytes,
  removeHeader,
  getProperty,
  getSharedData,
  setSharedData,
  defineMetric,
  incrementMetric,
  nowNanos,
  utf8,
  getHeaderPairs,
} from "../abi/host";
import { hashBytes, hex64Into } from "../support/hash";
import { base64Encode } from "../support/base64";

/** The calls a probe can make, as named in its configuration. */
const enum Call {
  None = 0,
  /** A request header that is present: the host hands its value back through proxy_on_memory_allocate. */
  GetHeader,
  /** A request header that is absent: the lookup alone, nothing handed back. */
  GetHeaderAbsent,
  ReplaceHeader,
  RemoveHeader,
  /** xds.cluster_name, as the plugin reads the routed cluster. */
  GetProperty,
  GetSharedData,
  IncrementMetric,
  GetCurrentTime,
  /** All request headers at once (one value handed back). */
  GetHeaderPairs,
  /** A shared-data key whose value is empty: the CAS token comes back, no value is handed back. */
  GetSharedDataEmpty,
  /** The join probe (see the head of this file). */
  Join,
}
const PROBE_CALLS = [
  "",
  "get_header",
  "get_header_absent",
  "replace_header",
  "remove_header",
  "get_property",
  "get_shared_data",
  "increment_metric",
  "get_current_time",
  "get_header_pairs",
  "get_shared_data_empty",
  "join",
];

const PATH = new HostName(":path");
const ABSENT = new HostName("x-probe-absent");
const PROBE_HEADER = new HostName("x-probe");
const CLUSTER_NAME = HostName.property(["xds", "cluster_name"]);
const PROBE_VALUE = utf8("0123456789abcdef");
const SHARED_KEY = "probe:value";
const EMPTY_SHARED_KEY = "probe:empty";
const HASH_HEADER = new HostName("x-room-affinity-hash");
const PIN_HEADER = new HostName("x-room-affinity-pin");
const HASH_VALUE = new ArrayBuffer(16);
let pinValue = new ArrayBuffer(0);

let call = Call.None;
let count: i32 = 0;
let metric: u32 = 0;

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  return true;
}

/**
 * Accepts "<call>:<count>" with a call of PROBE_CALLS and 0 < count <= 1000, or "join:<ip:port>" (the pod
 * the join probe pins); anything else fails the configuration.
 */
export function proxy_on_configure(rootId: u32, configSize: u32): bool {
  const b = getBuffer(BufferType.PluginConfiguration, configSize);
  if (b == null) return false;
  const text = fromUtf8(b);
  if (text.startsWith("join:")) {
    call = Call.Join;
    count = 1;
    pinValue = utf8(base64Encode(text.substring(5)));
  } else {
    const parts = text.split(":");
    if (parts.length != 2) return false;
    const i = PROBE_CALLS.indexOf(parts[0]);
    const n = I32.parseInt(parts[1]);
    if (i <= 0 || <Call>i == Call.Join || !(n > 0 && n <= 1000)) return false;
    call = <Call>i;
    count = n;
  }
  metric = defineMetric(MetricType.Counter, "probe.calls");
  setSharedData(SHARED_KEY, new Uint8Array(64), 0);
  setSharedData(EMPTY_SHARED_KEY, new Uint8Array(0), 0);
  return true;
}

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: bool): u32 {
  for (let k = 0; k < count; k++) {
    switch (call) {
      case Call.GetHeader:
        getHeaderBytes(MapType.HttpRequestHeaders, PATH);
        break;
      case Call.GetHeaderAbsent:
        getHeaderBytes(MapType.HttpRequestHeaders, ABSENT);
        break;
      case Call.ReplaceHeader:
        replaceHeaderBytes(MapType.HttpRequestHeaders, PROBE_HEADER, PROBE_VALUE);
        break;
      case Call.RemoveHeader:
        removeHeader(MapType.HttpRequestHeaders, ABSENT);
        break;
      case Call.GetProperty:
        getProperty(CLUSTER_NAME);
        break;
      case Call.GetSharedData:
        getSharedData(SHARED_KEY);
        break;
      case Call.IncrementMetric:
        incrementMetric(metric, 1);
        break;
      case Call.GetCurrentTime:
        nowNanos();
        break;
      case Call.GetHeaderPairs:
        getHeaderPairs(MapType.HttpRequestHeaders);
        break;
      case Call.GetSharedDataEmpty:
        getSharedData(EMPTY_SHARED_KEY);
        break;
      case Call.Join: {
        const path = getHeaderBytes(MapType.HttpRequestHeaders, PATH);
        const h = path == null ? 0 : hashBytes(path);
        getSharedData(EMPTY_SHARED_KEY);
        replaceHeaderBytes(MapType.HttpRequestHeaders, HASH_HEADER, hex64Into(HASH_VALUE, h));
        replaceHeaderBytes(MapType.HttpRequestHeaders, PIN_HEADER, pinValue);
        break;
      }
    }
  }
  return 0;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: bool): u32 {
  return 0;
}

export function proxy_on_delete(contextId: u32): void {}
