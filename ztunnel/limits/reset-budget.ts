// Rapid-reset budget for one HTTP/2 connection: counts streams that ended badly within their first
// second (reset by either side, or refused as a bad request) in a fixed window; once the count
// passes the budget the connection is over it and gets GOAWAY ENHANCE_YOUR_CALM. Injected clock.

/** A stream younger than this when it ends badly counts against the budget. */
export const RAPID_STREAM_MS = 1_000;

export class ResetBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(
    private readonly budget: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one bad stream end; true once the window's count exceeds the budget. */
  record(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.count = 0;
    }
    this.count++;
    return this.count > this.budget;
  }
}
