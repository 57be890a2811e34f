// Samples each mesh process's resident memory (VmRSS in /proc/<pid>/status) and open file
// descriptors (entries of /proc/<pid>/fd), summed over the process and its children (ztunnel
// workers), every few seconds of the soak. A process that is gone is reported once, by name.
import { readdirSync, readFileSync } from 'node:fs';
import { tree } from '../l4/proc-stats.js';
import type { ProcessSeries } from './soak-verdict.js';

export interface WatchedProcess {
  name: string;
  /** undefined when it has no pid (not started, or exited) */
  pid: () => number | undefined;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export class ProcessSampler {
  readonly series: ProcessSeries[];

  constructor(
    private readonly processes: WatchedProcess[],
    private readonly onGone: (name: string) => void,
  ) {
    this.series = processes.map((p) => ({ name: p.name, samples: [] }));
  }

  private readonly gone = new Set<string>();

  /** One sample of every process, at `tSec` seconds into the soak. */
  sample(tSec: number): void {
    this.processes.forEach((p, i) => {
      const pid = p.pid();
      try {
        if (pid === undefined) throw new Error('no pid');
        let rss = 0;
        let fds = 0;
        for (const q of tree(pid)) {
          rss += rssBytes(q);
          fds += fdCount(q);
        }
        this.series[i]?.samples.push({ tSec, rssBytes: rss, fds });
      } catch {
        if (!this.gone.has(p.name)) {
          this.gone.add(p.name);
          this.onGone(p.name);
        }
      }
    });
  }
}
