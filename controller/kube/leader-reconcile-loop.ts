// One reconcile loop for the controller's cluster writers (waypoint Deployments, node startup
// taints): while a gate says this replica may write, run a pass after a debounced nudge, again
// every resync period, and after a failure with capped, jittered backoff (at least the API's
// Retry-After). One pass at a time: a nudge during a pass runs one more pass after it. It owns no
// Kubernetes knowledge; the pass decides and writes.
import type { Logger } from 'pino';
import { ExponentialBackoff, type BackoffPolicy } from '../../core/policy/exponential-backoff.js';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import { KubeApiError } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';

/** What a pass asks of the loop: `retry` runs it again soon (a 409 Conflict to reread), with backoff. */
export interface PassOutcome {
  retry: boolean;
}

export interface LeaderReconcileLoopOptions {
  /** Whether passes may run now; undefined = always (every replica). */
  gate?: LeaderGate | undefined;
  pass: () => Promise<PassOutcome>;
  logger: Logger;
  clock?: Clock | undefined;
  /** Nudges within this window share one pass. */
  debounceMs: number;
  /** A full pass this often even without nudges (drift, missed events). */
  resyncMs: number;
  backoff: BackoffPolicy;
  random?: (() => number) | undefined;
}

export class LeaderReconcileLoop {
  private readonly clock: Clock;
  private readonly backoff: ExponentialBackoff;
  private timer: { clear(): void } | undefined;
  /** When the scheduled pass is due (clock time). */
  private scheduled: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private unsubscribe: (() => void) | undefined;
  /** Passes that ended (for tests and status). */
  passes = 0;

  constructor(private readonly o: LeaderReconcileLoopOptions) {
    this.clock = o.clock ?? systemClock;
    this.backoff = new ExponentialBackoff(o.backoff, {
      clock: this.clock,
      ...(o.random ? { random: o.random } : {}),
    });
  }

  private active(): boolean {
    return this.started && (this.o.gate?.isLeader() ?? true);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.o.gate?.onChange((leading) => {
      if (leading) this.schedule(0);
      else this.cancel();
    });
    if (this.active()) this.schedule(0);
  }

  /** Something the pass reads changed: run a pass after the debounce window. */
  nudge(): void {
    if (!this.active()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(this.o.debounceMs, true);
  }

  /** Replaces any scheduled pass; `keepSooner` leaves one already due earlier alone. */
  private schedule(ms: number, keepSooner = false): void {
    const at = this.clock.now() + ms;
    if (keepSooner && this.timer && this.scheduled !== undefined && this.scheduled <= at) return;
    this.timer?.clear();
    this.scheduled = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.scheduled = undefined;
      this.run();
    }, ms);
  }

  private cancel(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.scheduled = undefined;
    this.again = false;
  }

  private run(): void {
    if (!this.active()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.o
      .pass()
      .then(
        (out) => {
          if (out.retry) return this.retryLater(undefined);
          this.backoff.reset();
          return this.clock.now() + this.o.resyncMs;
        },
        (err: unknown) => {
          this.o.logger.warn({ err, attempt: this.backoff.attempts + 1 }, 'reconcile pass failed; retrying');
          return this.retryLater(err);
        },
      )
      .then((nextAt) => {
        this.passes += 1;
        this.running = undefined;
        if (!this.active()) return;
        if (this.again) {
          this.again = false;
          this.schedule(this.o.debounceMs);
        } else {
          this.schedule(Math.max(0, nextAt - this.clock.now()));
        }
      });
  }

  private retryLater(err: unknown): number {
    const delay = this.backoff.next();
    return this.clock.now() + Math.max(delay, retryAfterIn(err));
  }

  /** Stops scheduling and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancel();
    await this.running;
  }
}

/** The Retry-After the API asked for, found on the error or along its cause chain. */
function retryAfterIn(err: unknown): number {
  for (let e = err, depth = 0; e !== undefined && depth < 5; depth++) {
    if (e instanceof KubeApiError) return e.retryAfterMs ?? 0;
    e = e instanceof Error ? e.cause : undefined;
  }
  return 0;
}
