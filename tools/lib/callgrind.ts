// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Counts the instructions a process executes, under valgrind's callgrind. Unlike CPU time, the count
// does not depend on what else the machine is doing, so a figure holds from run to run on a shared,
// noisy machine. The process runs about 50 times slower, so only counts are read from it, never times.
import { spawnSync, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Whether valgrind (with callgrind_control and callgrind_annotate) is installed. */
export function callgrindAvailable(): boolean {
  return (
    spawnSync("valgrind", ["--version"]).status === 0 &&
    spawnSync("callgrind_control", ["-h"]).status === 0 &&
    // callgrind_annotate exits 255 even for -h: that it runs at all is what counts.
    spawnSync("callgrind_annotate", ["-h"]).error === undefined
  );
}

/** A counted window: all the process's instructions, and those in code V8 compiled while it ran. */
export interface WindowCount {
  total: number;
  /**
   * Instructions in code that belongs to no file the process mapped, above the 4 GiB mark: where V8
   * puts the machine code it compiles at run time (the wasm modules and their call wrappers). Envoy's
   * own code, its libraries and V8's built-in code are in files, so they are not in this figure.
   */
  compiledAtRunTime: number;
}

/** The command prefix that runs a program under callgrind, writing its counts into `outDir`. */
export function callgrindWrapper(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  return [
    "valgrind",
    "--tool=callgrind",
    "--smc-check=all-non-file", // V8 writes code at run time
    `--callgrind-out-file=${path.join(outDir, "cg.%p")}`,
    "--dump-instr=no",
    "--compress-strings=no",
  ];
}

/** Sets the process's counters to zero: the start of a counted window. */
export function zeroCount(pid: number): void {
  execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
}

/** Instructions the process executed since zeroCount (all its threads): the end of a counted window. */
export function readCount(pid: number, outDir: string): WindowCount {
  const before = new Set(fs.readdirSync(outDir));
  execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
  const dumped = fs.readdirSync(outDir).filter((f) => f.startsWith(`cg.${pid}.`) && !before.has(f));
  if (dumped.length !== 1) throw new Error(`callgrind: expected one new dump of ${pid} in ${outDir}, found ${dumped.length}`);
  const file = path.join(outDir, dumped[0]);
  const m = fs.readFileSync(file, "utf8").match(/^(?:summary|totals): (\d+)/m);
  if (!m) throw new Error(`callgrind: no totals in ${dumped[0]}`);
  return {
    total: Number(m[1]),
    compiledAtRunTime: compiledAtRunTime(
      execFileSync("callgrind_annotate", ["--inclusive=no", "--threshold=100", file], { encoding: "utf8", maxBuffer: 64 << 20 }),
    ),
  };
}

/**
 * From callgrind_annotate's self costs (one line per function: "count (share) file:function [object]"),
 * the instructions of functions with no object at addresses above 4 GiB (see WindowCount).
 */
export function compiledAtRunTime(annotated: string): number {
  let sum = 0;
  for (const line of annotated.split("\n")) {
    const m = line.match(/^\s*([\d,]+)\s+\([^)]*\)\s+\?\?\?:0x([0-9a-f]+)\s+\[\?\?\?\]\s*$/);
    if (m && Number.parseInt(m[2], 16) >= 2 ** 32) sum += Number(m[1].replace(/,/g, ""));
  }
  return sum;
}
