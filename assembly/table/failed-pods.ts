// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Pods that failed, each with the second it last did: the sweeper drops pins by it (with a directory),
// and a join checks its pin against the pods the gateway's health check fails now.
import { hashBytesRaw, hashString } from "../support/hash";

/**
 * Pods that failed (a pinned join failed over to another pod, or the health check began failing the
 * pod, on this gateway or on another replica), each with the second it last did. With a room
 * directory, a pin to such a pod seen no later than that may be stale: another replica may have moved
 * the room meanwhile, and the pod may be back, empty, on its address. Such pins go, and the room's next
 * join asks the directory.
 */
export class FailedPods {
  private at: Map<u64, u32> = new Map();
  add(address: string, atSec: u32): void {
    this.at.set(hashString(address), atSec);
  }
  /**
   * Whether a pod failed later here than in `before` (or only here): a failure another replica shared
   * can date from before the latest one this gateway saw, and still be new to it.
   */
  newerThan(before: FailedPods | null): bool {
    const pods = this.at.keys();
    for (let i = 0; i < pods.length; i++) {
      if (before == null || !before.at.has(pods[i]) || before.at.get(pods[i]) < this.at.get(pods[i])) return true;
    }
    return false;
  }
  get size(): i32 {
    return this.at.size;
  }
  has(address: string): bool {
    return this.at.has(hashString(address));
  }
  /** Whether a pin to `address` last seen at `lastSeen` may predate the pod's failure (the same second counts). */
  stale(address: string, lastSeen: u32): bool {
    const h = hashString(address);
    return this.at.has(h) && lastSeen <= this.at.get(h);
  }
  staleRaw(ptr: usize, len: usize, lastSeen: u32): bool {
    const h = hashBytesRaw(ptr, len);
    return this.at.has(h) && lastSeen <= this.at.get(h);
  }
  /**
   * Whether a pin to the address at `ptr` (`len` bytes), last seen at `lastSeen`, certainly predates the
   * pod's failure: seen in an earlier second. A pin seen in the failure's own second may have been
   * placed on the pod back on its address, so it does not count.
   */
  failedSinceRaw(ptr: usize, len: usize, lastSeen: u32): bool {
    if (this.at.size == 0) return false;
    const h = hashBytesRaw(ptr, len);
    return this.at.has(h) && lastSeen < this.at.get(h);
  }
}

/**
 * The pods a join must not be pinned to: members the gateway's health check fails now, each with the
 * second it began failing them. Read on each keyed join; null while there is none.
 */
export abstract class DownPods {
  abstract current(nowMs: u64): FailedPods | null;
}
