// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Host functions of proxy-wasm ABI 0.2.1 that every host (stock Envoy, Higress) provides.
// AssemblyScript only emits imports that are reachable, but a host that lacks an emitted import
// refuses the module, so Higress-only functions live in ./higress-imports.ts and are reached
// only from the Higress target.

// Status codes (spec: proxy-wasm/spec abi-versions/v0.2.1).
export const enum Status {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  Empty = 7,
  CasMismatch = 8,
  InternalFailure = 10,
  Unimplemented = 12,
}

export const enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

export const enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  HttpCallResponseBody = 4,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  /** Higress only: the reply of a proxy_redis_call. */
  RedisCallResponse = 9,
}

export const enum MapType {
  HttpRequestHeaders = 0,
  HttpResponseHeaders = 2,
  HttpCallResponseHeaders = 6,
}

export const enum FilterHeadersStatus {
  Continue = 0,
  StopIteration = 1,
}

export const enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

@external("env", "proxy_log")
export declare function proxy_log(level: u32, messagePtr: usize, messageSize: usize): u32;

@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(retLevelPtr: usize): u32;

@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(bufferType: u32, start: u32, maxSize: u32, retPtrPtr: usize, retSizePtr: usize): u32;

@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(mapType: u32, keyPtr: usize, keySize: usize, retPtrPtr: usize, retSizePtr: usize): u32;

@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: u32, retPtrPtr: usize, retSizePtr: usize): u32;

@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(mapType: u32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): u32;

@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: u32, keyPtr: usize, keySize: usize): u32;

@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, retPtrPtr: usize, retSizePtr: usize): u32;

@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): u32;

@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(keyPtr: usize, keySize: usize, retValuePtrPtr: usize, retValueSizePtr: usize, retCasPtr: usize): u32;

@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize, cas: u32): u32;

@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): u32;

@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(retTimePtr: usize): u32;

@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(statusCode: u32, detailsPtr: usize, detailsSize: usize, bodyPtr: usize, bodySize: usize, headersPtr: usize, headersSize: usize, grpcStatus: i32): u32;

@external("env", "proxy_http_call")
export declare function proxy_http_call(upstreamPtr: usize, upstreamSize: usize, headersPtr: usize, headersSize: usize, bodyPtr: usize, bodySize: usize, trailersPtr: usize, trailersSize: usize, timeoutMs: u32, retTokenPtr: usize): u32;

@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;

/** streamType: 0 request, 1 response. */
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(streamType: u32): u32;

@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: u32, namePtr: usize, nameSize: usize, retIdPtr: usize): u32;

@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, offset: i64): u32;

@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): u32;
