// One exponential backoff for every retry in Ambit (certificate rotation, discovery reconnects,
// ztunnel worker restarts): the delay doubles (by `factor`) from `initialMs` up to `maxMs`, with
// "equal jitter" so that many processes failing together (every ztunnel after a controller
// restart) do not retry in lockstep. Time and randomness are injected; it owns no policy values.
import { systemClock, type Clock } from './clock.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface BackoffOptions {
  clock?: Clock;
  /** A number in [0, 1); Math.random by default. Tests give a fixed one. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0-based) without jitter: the upper bound. Pure. */
export function backoffCeiling(p: BackoffPolicy, attempt: number): number {
  return Math.min(p.initialMs * p.factor ** attempt, p.maxMs);
}

/**
 * The delay with equal jitter: a random point in the upper half of the ceiling, never below
 * `initialMs`. Equal rather than full jitter because full jitter may draw ~0 ms, which turns a
 * crashing worker or an unreachable controller into a tight loop; the upper half keeps at least
 * half the intended pause and still spreads a fleet over a window as wide as that pause. So the
 * bounds stay the policy's own: the first retry waits exactly `initialMs`, none waits over `maxMs`.
 * `r` in [0, 1); r = 0 gives the ceiling. Pure.
 */
export function backoffDelay(p: BackoffPolicy, attempt: number, r: number): number {
  const ceiling = backoffCeiling(p, attempt);
  return Math.max(p.initialMs, Math.round(ceiling - (ceiling / 2) * r));
}

export class ExponentialBackoff {
  private failures = 0;
  private timer: { clear(): void } | undefined;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(
    readonly policy: BackoffPolicy,
    o: BackoffOptions = {},
  ) {
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
  }

  /** Retries counted since the last reset(). */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next retry; counts it. */
  next(): number {
    return backoffDelay(this.policy, this.failures++, this.random());
  }

  /** Runs fn after next()'s delay on the clock, replacing a retry already scheduled; returns the delay. */
  schedule(fn: () => void): number {
    const delay = this.next();
    this.timer?.clear();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delay);
    return delay;
  }

  /** Cancels a scheduled retry, if any. */
  cancel(): void {
    this.timer?.clear();
    this.timer = undefined;
  }

  /** Success: the next failure starts again from `initialMs`. A scheduled retry is left alone. */
  reset(): void {
    this.failures = 0;
  }
}
