// Placement of a new room: rendezvous (highest-random-weight) hashing over the eligible pods.
// Every worker thread and every gateway replica with the same view picks the same pod, and adding
// or removing a pod only changes the choice for rooms whose winner it is (about 1/N) -- though the
// table pins rooms anyway, so this only matters for rooms placed concurrently from different views.
import { mix64 } from "./hash";

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
