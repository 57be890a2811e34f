// Envoy's retry budget for one Service: concurrent retries may be at most `percent`% of the
// requests in flight, but `minRetryConcurrency` retries are always allowed, so a retry storm cannot
// multiply the load on a failing backend. Counts only; the caller reports starts and ends.
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';

/** Envoy's retry budget defaults (cluster circuit_breakers.retry_budget): 20%, at least 3. */
export const DEFAULT_RETRY_BUDGET = { percent: 20, minRetryConcurrency: 3 } as const;

export class RetryBudget {
  private requests = 0;
  private retries = 0;
  private readonly percent: number;
  private readonly minRetryConcurrency: number;

  /**
   * `budget`: the TrafficPolicy retryBudget. Without it, a connectionPool.http.maxRetries
   * becomes a fixed cap of that many concurrent retries (Envoy's max_retries breaker, which the
   * budget replaces when both are set); with neither, DEFAULT_RETRY_BUDGET.
   */
  constructor(budget?: MeshTrafficPolicy['retryBudget'], maxRetries?: number) {
    if (budget) {
      this.percent = budget.percent;
      this.minRetryConcurrency = budget.minRetryConcurrency ?? DEFAULT_RETRY_BUDGET.minRetryConcurrency;
    } else if (maxRetries !== undefined) {
      this.percent = 0;
      this.minRetryConcurrency = maxRetries;
    } else {
      this.percent = DEFAULT_RETRY_BUDGET.percent;
      this.minRetryConcurrency = DEFAULT_RETRY_BUDGET.minRetryConcurrency;
    }
  }

  /** A request to the Service began (count it before its first attempt). */
  requestStarted(): void {
    this.requests++;
  }

  /** A request ended, however (call once per requestStarted). */
  requestEnded(): void {
    this.requests = Math.max(0, this.requests - 1);
  }

  /** How many retries may run at once now: max(min, percent of requests in flight), Envoy's rounding down. */
  get limit(): number {
    return Math.max(this.minRetryConcurrency, Math.floor((this.percent / 100) * this.requests));
  }

  /** A retry wants to start: true (and counted) when the budget has room; false means give up (flag URX). */
  tryStartRetry(): boolean {
    if (this.retries >= this.limit) return false;
    this.retries++;
    return true;
  }

  /** A retry that tryStartRetry allowed ended (its attempt finished). */
  retryEnded(): void {
    this.retries = Math.max(0, this.retries - 1);
  }

  /** In flight now, for metrics. */
  get active(): { requests: number; retries: number } {
    return { requests: this.requests, retries: this.retries };
  }
}
