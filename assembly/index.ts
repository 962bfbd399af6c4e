// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Wiring only: the ABI exports, and `install`, which a build target calls with its Platform.
// Build targets: targets/envoy.ts (stock Envoy) and targets/higress.ts (Higress).
// Referenced by asconfig "use": abort=assembly/abi/abort/abortHandler (no host provides env.abort).
import "./abi/abort";
import { setRootFactory, RootContext } from "./abi/context";
import { RoomAffinityRoot } from "./plugin/root";
import { Platform } from "./platform/platform";

export * from "./abi/exports";

let installedPlatform: Platform | null = null;

function newRoot(id: u32): RootContext {
  return new RoomAffinityRoot(id, installedPlatform!);
}

/** Called by the build target: called once at module start with the gateway's Platform. */
export function install(platform: Platform): void {
  installedPlatform = platform;
  setRootFactory(newRoot);
}
