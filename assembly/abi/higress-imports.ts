// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Higress extensions to proxy-wasm ABI 0.2.1 (higress-group proxy-wasm-cpp-host). Stock Envoy does not
// provide these: a module importing them does not load there, so only the Higress target reaches this file.

// Raw "ip:port" bytes; Envoy honours it only for a member of the routed cluster whose health status is
// in the cluster's override_host_status set (otherwise its load balancer picks as usual).
@external("env", "proxy_set_upstream_override_host")
export declare function proxy_set_upstream_override_host(addressPtr: usize, addressSize: usize): u32;

// Pair map of the routed cluster's hosts: key "ip:port", value JSON with at least "health_status".
@external("env", "proxy_get_upstream_hosts")
export declare function proxy_get_upstream_hosts(retPtrPtr: usize, retSizePtr: usize): u32;

// Redis through Higress (proxy-wasm-cpp-host exports): both act on the root context. init is called
// while configuring; `cluster` there may carry "?db=N&..." options, later calls use the bare name.
@external("env", "proxy_redis_init")
export declare function proxy_redis_init(clusterPtr: usize, clusterSize: usize, userPtr: usize, userSize: usize,
  passwordPtr: usize, passwordSize: usize, timeoutMs: u32): u32;

// `query` is a RESP array of bulk strings; the reply arrives in proxy_on_redis_call_response.
@external("env", "proxy_redis_call")
export declare function proxy_redis_call(clusterPtr: usize, clusterSize: usize, queryPtr: usize, querySize: usize, retTokenPtr: usize): u32;
