// The routed cluster a worker's keyed requests have been routed to, assumed for the next ones.
//
// Why: rooms are per routed cluster (the cluster's name is part of the room's fingerprint), and the
// only way to learn it is a property read whose value Envoy hands back through the module's
// allocator, the dearest host call of a join (BENCHMARKS.md prices it). Almost every gateway routes a
// room path to one cluster, so a worker reads the cluster until it has one, then assumes it, and
// reads it again only where a wrong assumption would be seen or would do harm:
//   - the first FIRST_CHECKS keyed requests after the first read, and one in CHECK_EVERY after;
//   - whenever `refreshMs` has passed since the last read (Higress labels the hosts it reads from a
//     request with the routed cluster, so that read must be of the real one);
//   - a room this worker's table does not have (its first pin is written under the real cluster);
//   - a pin the gateway did not honour (Envoy honours a pin only to a member of the routed cluster).
// The first read that names another cluster ends the assumption for good: from then on this worker
// reads the cluster on every keyed request, as it does where a `_match_service_` rule needs it.

/** Keyed requests after the first read whose cluster is read all the same (a deployment that routes a
 *  room path to several clusters shows it at once). */
export const FIRST_CHECKS: u32 = 16;
/** After FIRST_CHECKS, one keyed request in CHECK_EVERY reads its cluster. */
export const CHECK_EVERY: u32 = 64;

export class AssumedCluster {
  private known: bool = false;
  private name: string | null = null;
  private exact: bool;
  /** Keyed requests decided while assuming (the check sample counts them). */
  private decided: u32 = 0;
  /** When a read was last due to `refreshMs` (or the first read). */
  private lastRefreshMs: u64 = 0;
  /** The cluster whose read ended the assumption, until `takeEnding` hands it out ("" otherwise). */
  private other: string = "";

  /**
   * `exact`: read on every keyed request from the start (a rule matches by service). `refreshMs`: the
   * longest time between two reads (0: no such need).
   */
  constructor(exact: bool, private readonly refreshMs: u64) { this.exact = exact; }

  /** Whether the cluster is read on every keyed request (several clusters seen, or configured so). */
  get readsEveryRequest(): bool { return this.exact; }

  /** The cluster assumed (meaningful when `mayAssume` said yes). */
  get assumed(): string | null { return this.name; }

  /** Request-path contract: whether this keyed request may be keyed with the assumed cluster, unread. */
  mayAssume(nowMs: u64): bool {
    if (this.exact || !this.known) return false;
    if (this.refreshMs > 0 && nowMs - this.lastRefreshMs >= this.refreshMs) {
      this.lastRefreshMs = nowMs;
      return false;
    }
    const n = this.decided++;
    return n >= FIRST_CHECKS && n % CHECK_EVERY != 0;
  }

  /**
   * Request- and response-path contract: `real` is the cluster just read from the host. Returns
   * whether it is the one assumed (the first read makes it so); another one ends the assumption.
   */
  confirm(real: string | null, nowMs: u64): bool {
    if (!this.known) {
      this.known = true;
      this.name = real;
      this.lastRefreshMs = nowMs;
      return true;
    }
    if (real == this.name) return true;
    if (!this.exact) this.other = real == null ? "(none)" : real!;
    this.exact = true;
    return false;
  }

  /**
   * on_tick contract: once, after a read of another cluster ended the assumption, the two clusters
   * ("first, other") for a log line; "" before that and after that once.
   */
  takeEnding(): string {
    if (this.other.length == 0) return "";
    const first = this.name;
    const both = (first == null ? "(none)" : first!) + ", " + this.other;
    this.other = ""; // set only when the assumption ends, which happens once
    return both;
  }
}
