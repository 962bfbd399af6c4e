// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The plugin's decision for access logs (`logDecision`): the room key and a word for what happened,
// as filter state that Envoy prints with %FILTER_STATE(wasm.room_affinity_key)% and
// %FILTER_STATE(wasm.room_affinity_decision)%.
import { HostName, setProperty } from "../abi/host";

const KEY_PROPERTY = HostName.property(["room_affinity_key"]);
const DECISION_PROPERTY = HostName.property(["room_affinity_decision"]);

/** The decision labels, each encoded once: they are the same few words on every keyed request. */
const ENCODED_LABELS = new Map<string, Uint8Array>();

/** Records the room key (when given) and the decision's word. */
export function logDecision(key: Uint8Array | null, label: string): void {
  if (key != null) setProperty(KEY_PROPERTY, key);
  if (!ENCODED_LABELS.has(label)) ENCODED_LABELS.set(label, Uint8Array.wrap(String.UTF8.encode(label)));
  setProperty(DECISION_PROPERTY, ENCODED_LABELS.get(label));
}
