// How the request hook reads the headers a decision needs: one host call per header, or all of them
// in one call (proxy_get_header_map_pairs). Host-free: the hook asks and reports, plugin.ts reads.
//
// Why both: every value Envoy hands back costs one call into the module's allocator, the dearest part
// of a header read (BENCHMARKS.md prices them). A WebSocket upgrade needs two values (`upgrade` and
// `:path`, three with `_rules_`), which one read of all headers hands back at once for about the price
// of one. A request that is not an upgrade, where every route passes those, only needs to learn that
// `upgrade` is absent, which hands nothing back: reading all its headers would cost it about six times
// as much. So where plain requests pass untouched, a worker reads all headers while upgrades are at
// least about half of its recent requests, and one header at a time otherwise.

/** How far the tally of recent requests reaches: the mode follows the majority of the last few dozen. */
const TALLY_SPAN: i32 = 16;

export class HeaderReadPlan {
  /** +1 per upgrade, −1 per other request, held within ±TALLY_SPAN. */
  private tally: i32 = 0;

  /**
   * `plainRequestsReadPath`: some route keys requests that are not upgrades, so every request reads
   * `:path` anyway and one read of all headers never costs more (on_configure derives it).
   */
  constructor(public readonly plainRequestsReadPath: bool) {}

  /** Request-headers contract: whether this request's headers are read in one call. */
  readsAllHeaders(): bool {
    return this.plainRequestsReadPath || this.tally >= 0;
  }

  /** Request-headers contract: what the request turned out to be, once its `upgrade` header was read. */
  record(upgrade: bool): void {
    if (upgrade) {
      if (this.tally < TALLY_SPAN) this.tally++;
    } else if (this.tally > -TALLY_SPAN) {
      this.tally--;
    }
  }
}
