// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Build target for Higress (build/higress.wasm): adds Higress's upstream-override, host-list and Redis
// imports, and the Redis callback export.
import { install } from "../index";
import { HigressPlatform } from "../platform/higress";

export * from "../abi/exports";
export * from "../abi/higress-exports";

install(new HigressPlatform());
