// The status writer's rate limit: a token bucket (`burst` writes at once, then `perSecond`), so a
// burst of changes - a new leader finding a thousand stale routes, a namespace of routes applied at
// once - is spread out instead of landing on the API server in one go (client-go's controllers use
// the same shape, its default is 5 QPS with a burst of 10 per client). Time comes from the injected
// clock; reserve() only says how long to wait, the writer waits.
import type { Clock } from '../../core/policy/clock.js';

export class StatusWriteBudget {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.lastMs = clock.now();
  }

  /** Takes one write; returns how many ms to wait before sending it (0 when one is in hand). */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.perSecond) / 1000);
    this.lastMs = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }

  /** Waits on the clock for the next write's turn. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait));
  }
}
