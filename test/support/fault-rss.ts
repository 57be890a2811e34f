// Samples a process's resident memory (VmRSS in /proc/<pid>/status) on an interval and keeps the
// peak, so a fault suite can say how far a ztunnel's memory went while a reader held data back.
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in bytes; undefined once the process is gone. */
export function vmRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

export class RssSampler {
  private readonly timer: NodeJS.Timeout;
  readonly first: number | undefined;
  peak = 0;
  samples = 0;

  constructor(
    readonly pid: number,
    intervalMs = 200,
  ) {
    this.first = vmRssBytes(pid);
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  private sample(): void {
    const v = vmRssBytes(this.pid);
    if (v === undefined) return;
    this.samples++;
    if (v > this.peak) this.peak = v;
  }

  stop(): { firstMb: number; peakMb: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    const mb = (b: number) => Math.round(b / 1048576);
    return { firstMb: mb(this.first ?? 0), peakMb: mb(this.peak), samples: this.samples };
  }
}
