// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
/**
 * Says yes to the first `first` asks, then to one in `every`: how the plugin checks an assumption
 * often while it is new and rarely once it has held.
 */
export class Sampler {
  private asked: u32 = 0;
  constructor(
    private readonly first: u32,
    private readonly every: u32,
  ) {}

  take(): bool {
    const n = this.asked++;
    return n < this.first || n % this.every == 0;
  }
}
