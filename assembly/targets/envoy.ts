// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Build target for stock Envoy (build/envoy.wasm): imports only ABI 0.2.1 host functions.
import { install } from "../index";
import { StockEnvoyPlatform } from "../platform/envoy";

export * from "../abi/exports";

install(new StockEnvoyPlatform());
