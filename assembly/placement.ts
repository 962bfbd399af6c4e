// Placement of a new room: rendezvous (highest-random-weight) hashing over the eligible pods.
// Every worker thread and every gateway replica with the same view picks the same pod, and adding
// or removing a pod only changes the choice for rooms whose winner it is (about 1/N) -- though the
// table pins rooms anyway, so this only matters for rooms placed concurrently from different views.
import { mix64 } from "./hash";

/** Table contract: answers, for a resolve, whether a pinned pod may keep its room and where a new room goes. */
export abstract class PinPolicy {
  /** The pinned pod is known to be usable (member, healthy or draining); false re-places the room. */
  abstract keepsPin(address: string): bool;
  /** The pod for a new (or re-placed) room, or "" if none can be chosen now. */
  abstract place(fingerprint: u64): string;
}

/** Used while membership is unknown: keep any pin (the gateway still checks it), place nothing. */
export class KeepPinsOnly extends PinPolicy {
  keepsPin(address: string): bool { return true; }
  place(fingerprint: u64): string { return ""; }
}

/** Keeps any pin except one to `replaced`, and places new (or re-placed) rooms on `address`. */
export class FixedPlacement extends PinPolicy {
  constructor(public address: string, public replaced: string) { super(); }
  keepsPin(address: string): bool { return address != this.replaced; }
  place(fingerprint: u64): string { return this.address; }
}

/** Returns the index in `hostHashes` with the highest score for `fingerprint`, or -1 when empty. */
export function rendezvousPick(fingerprint: u64, hostHashes: StaticArray<u64>, eligible: StaticArray<bool>): i32 {
  let best = -1;
  let bestScore: u64 = 0;
  for (let i = 0; i < hostHashes.length; i++) {
    if (!unchecked(eligible[i])) continue;
    const score = mix64(fingerprint ^ unchecked(hostHashes[i]));
    // Ties (astronomically rare) go to the smaller host hash, so the result never depends on order.
    if (best < 0 || score > bestScore || (score == bestScore && unchecked(hostHashes[i]) < unchecked(hostHashes[best]))) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}
