// A fixed-rate, bounded firing loop for the soak's load lanes: starts `fire()` `rate` times a
// second (open loop, so a slow mesh does not slow the offered load), never more than `maxInFlight`
// at once; a start that would exceed it is dropped and reported to `onBacklog` instead of queued,
// so the soak stays bounded in memory and count. Timers are injected for fake-time tests.

export interface LoopTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

const realTimers: LoopTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface PacedLoopOptions {
  /** starts per second */
  rate: number;
  maxInFlight: number;
  /** one unit of work; its rejection is the caller's to have counted (it is swallowed here) */
  fire: () => Promise<void>;
  onBacklog: () => void;
  /** how often due starts are issued (default 20 ms) */
  tickMs?: number;
  timers?: LoopTimers;
}

export class PacedLoop {
  private started = 0;
  private inFlight = 0;
  private handle: unknown;
  private t0 = 0;
  private idle: (() => void)[] = [];
  private readonly timers: LoopTimers;

  constructor(private readonly o: PacedLoopOptions) {
    this.timers = o.timers ?? realTimers;
  }

  start(): void {
    this.t0 = this.timers.now();
    this.handle = this.timers.setInterval(() => this.tick(), this.o.tickMs ?? 20);
  }

  /** Starts issued so far (dropped ones included). */
  get issued(): number {
    return this.started;
  }

  /** Stops starting; resolves when the work in flight has ended. */
  stop(): Promise<void> {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private tick(): void {
    const due = Math.floor(((this.timers.now() - this.t0) * this.o.rate) / 1000);
    while (this.started < due) {
      this.started++;
      if (this.inFlight >= this.o.maxInFlight) {
        this.o.onBacklog();
        continue;
      }
      this.inFlight++;
      this.o
        .fire()
        .catch(() => undefined)
        .finally(() => {
          this.inFlight--;
          if (this.inFlight === 0 && this.handle === undefined) this.idle.splice(0).forEach((r) => r());
        });
    }
  }
}
