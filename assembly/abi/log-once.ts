// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The one way the plugin logs a problem that repeats (a host status, a deployment mistake, a failing
// store): once per kind of problem and worker thread (VM), not once per request or tick.
import { LogLevel, proxy_log } from "./imports";

export class LogOnce {
  private said: Set<string> = new Set();

  /** Logs `message` unless this kind was logged already; returns whether it logged. */
  log(level: LogLevel, kind: string, message: string): bool {
    if (this.said.has(kind)) return false;
    this.said.add(kind);
    const b = String.UTF8.encode("room-affinity: " + message);
    // A log call that fails has nowhere to be reported.
    proxy_log(level, changetype<usize>(b), b.byteLength);
    return true;
  }

  warn(kind: string, message: string): void {
    this.log(LogLevel.Warn, kind, message);
  }

  error(kind: string, message: string): void {
    this.log(LogLevel.Error, kind, message);
  }

  /** Lets every kind be logged again (the problem went away). */
  forgetAll(): void {
    this.said.clear();
  }
}
