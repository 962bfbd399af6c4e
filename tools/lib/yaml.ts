// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Minimal YAML emitter for the Envoy files we render (objects, arrays, strings, numbers, booleans).
// Strings are always double-quoted JSON strings, which YAML reads back unchanged.
type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };

function scalar(v: Yaml): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null) return "null";
  return String(v);
}

function isEmpty(v: Yaml): boolean {
  return (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function emit(v: Yaml, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (typeof item === "object" && item !== null && !isEmpty(item)) {
        const lines: string[] = [];
        emit(item, indent + "  ", lines);
        out.push(indent + "- " + lines[0].trimStart());
        out.push(...lines.slice(1));
      } else {
        out.push(indent + "- " + (isEmpty(item) ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)));
      }
    }
    return;
  }
  if (typeof v === "object" && v !== null) {
    for (const [k, val] of Object.entries(v)) {
      const key = /^[A-Za-z_@][A-Za-z0-9_.@-]*$/.test(k) && !k.startsWith("@") ? k : JSON.stringify(k);
      if (typeof val === "object" && val !== null && !isEmpty(val)) {
        out.push(`${indent}${key}:`);
        emit(val, Array.isArray(val) ? indent : indent + "  ", out);
      } else {
        out.push(`${indent}${key}: ${isEmpty(val) ? (Array.isArray(val) ? "[]" : "{}") : scalar(val)}`);
      }
    }
    return;
  }
  out.push(indent + scalar(v));
}

export function toYaml(v: unknown, header = ""): string {
  const out: string[] = [];
  emit(v as Yaml, "", out);
  return header + out.join("\n") + "\n";
}
