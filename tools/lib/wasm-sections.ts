// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Reads a wasm binary's import and export names (sections 2 and 7), to check what each build
// asks of its host: a host that lacks an imported function refuses the whole module.
import fs from "node:fs";

export interface WasmInterface {
  imports: string[]; // "module.name"
  exports: string[];
}

export function readInterface(file: string): WasmInterface {
  const b = fs.readFileSync(file);
  if (b.readUInt32LE(0) !== 0x6d736100) throw new Error(`${file}: not a wasm module`);
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = b[pos++];
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  const name = (): string => {
    const len = u32();
    const s = b.toString("utf8", pos, pos + len);
    pos += len;
    return s;
  };
  const out: WasmInterface = { imports: [], exports: [] };
  while (pos < b.length) {
    const id = b[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 2) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        const mod = name();
        const field = name();
        const kind = b[pos++];
        out.imports.push(`${mod}.${field}`);
        if (kind === 0)
          u32(); // func: type index
        else if (kind === 1) {
          pos++;
          const f = u32();
          u32();
          if (f & 1) u32();
        } // table
        else if (kind === 2) {
          const f = u32();
          u32();
          if (f & 1) u32();
        } // memory
        else if (kind === 3) pos += 2; // global
      }
    } else if (id === 7) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        out.exports.push(name());
        pos++;
        u32();
      }
    }
    pos = end;
  }
  return out;
}
