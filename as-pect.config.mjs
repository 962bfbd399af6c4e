// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// as-pect (AssemblyScript unit tests) for the pure modules: they import no host functions, so no
// imports beyond memory are needed. The table's CAS behaviour is tested over MemoryStore, which
// follows Envoy SharedData's CAS rules.
export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
