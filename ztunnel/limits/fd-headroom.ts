// Keeps file descriptors free for what must keep working when a flood of inbound connections
// arrives: upstream dials, the controller stream, /healthz/ready. Counts the inbound connections
// the listeners hold (exactly, as they come and go) on top of a periodic sample of every other
// open fd, against the soft RLIMIT_NOFILE read from /proc. Decides only; the listeners refuse.
import { readdirSync, readFileSync } from 'node:fs';

export interface FdSource {
  /** Open descriptors of this process. */
  openFds(): number;
  /** The soft RLIMIT_NOFILE, or Infinity when unknown or unlimited. */
  softLimit(): number;
}

export const procFdSource: FdSource = {
  openFds: () => readdirSync('/proc/self/fd').length,
  softLimit: () => {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const n = m?.[1] === undefined ? Number.NaN : Number(m[1]);
    return Number.isFinite(n) ? n : Infinity;
  },
};

export class FdHeadroom {
  private tracked = 0;
  /** Open fds at the last sample that were not tracked inbound connections. */
  private others = 0;
  private limitAtSample = Infinity;
  private sampledAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly reserve: number,
    private readonly source: FdSource = procFdSource,
    private readonly now: () => number = Date.now,
    private readonly sampleEveryMs = 1_000,
  ) {}

  /** The soft limit as last read. */
  get limit(): number {
    this.sampleIfDue();
    return this.limitAtSample;
  }

  /** One more inbound connection holds an fd. */
  acquire(): void {
    this.tracked++;
  }

  release(): void {
    if (this.tracked > 0) this.tracked--;
  }

  /** Whether one more inbound connection would eat into the reserve. */
  exhausted(): boolean {
    this.sampleIfDue();
    return this.others + this.tracked + 1 > this.limitAtSample - this.reserve;
  }

  private sampleIfDue(): void {
    const t = this.now();
    if (t - this.sampledAt < this.sampleEveryMs) return;
    this.sampledAt = t;
    try {
      this.limitAtSample = this.source.softLimit();
      this.others = Math.max(0, this.source.openFds() - this.tracked);
    } catch {
      // No /proc (not Linux): no headroom check rather than a wrong one.
      this.limitAtSample = Infinity;
    }
  }
}
