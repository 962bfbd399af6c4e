// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A store server the tests start and break on purpose (etcd.ts, redis.ts): stopped with SIGTERM (then
// SIGKILL), frozen with SIGSTOP (it hangs with its port open: connections are accepted by the kernel and
// never answered) and thawed with SIGCONT.
import { ChildProcess } from "node:child_process";

export class ServerProcess {
  proc: ChildProcess | null = null;
  frozen = false;

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    if (this.frozen) p.kill("SIGCONT");
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
    this.frozen = false;
  }

  freeze(): void {
    if (this.running && !this.frozen) {
      this.proc!.kill("SIGSTOP");
      this.frozen = true;
    }
  }

  thaw(): void {
    if (this.running && this.frozen) {
      this.proc!.kill("SIGCONT");
      this.frozen = false;
    }
  }
}
