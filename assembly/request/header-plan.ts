// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// How the request hook reads the headers a decision needs: all at once while upgrades are about half
// of a worker's recent requests, one by one otherwise (why: docs/architecture.md, "Header reads").

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

  /** on_request_headers: whether this request's headers are read in one call. */
  readsAllHeaders(): bool {
    return this.plainRequestsReadPath || this.tally >= 0;
  }

  /** on_request_headers: what the request turned out to be, once its `upgrade` header was read. */
  record(upgrade: bool): void {
    if (upgrade) {
      if (this.tally < TALLY_SPAN) this.tally++;
    } else if (this.tally > -TALLY_SPAN) {
      this.tally--;
    }
  }
}
