// The ztunnel's readiness as a file (`--ready-file PATH`, issue 11): present while THIS process
// is ready (the same predicate as its /healthz/ready), absent from the moment it drains or exits.
// It exists for the Kubernetes surge upgrade (deploy/daemonset/ztunnel.yaml): while an old and a
// new ztunnel pod run on one node, an httpGet to the node's :15021 is answered by the old process
// (before the new one listens; after, whichever SO_REUSEPORT picks), so the kubelet probes
// `test -e PATH` in the pod's own emptyDir instead. An emptyDir outlives a container restart, so a
// file left by a killed process is removed at start.
// This file owns only the file; readiness itself and the drain stay run-ztunnel's and ztunnel.ts's.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import { ztError } from '../errors.js';

/** How often the file is brought in line with readiness after the first sync. */
export const READY_FILE_SYNC_MS = 1_000;

export interface ReadyFileOptions {
  path: string;
  /** This process's readiness: the predicate its /healthz/ready answers with. */
  ready: () => boolean;
  logger: Logger;
  clock?: Clock;
  syncMs?: number;
}

/** What the file says: enough for an operator who finds it to tell whose it is. */
export interface ReadyFileContent {
  pid: number;
  readySince: string;
}

export class ReadyFile {
  private readonly clock: Clock;
  private timer: { clear(): void } | undefined;
  private written = false;
  private withdrawn = false;

  constructor(private readonly o: ReadyFileOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /**
   * Removes a file an earlier process left (SIGKILL, OOM), checks the directory exists and is
   * writable, and starts following readiness. Throws ZT_BAD_FLAG naming the path otherwise.
   */
  start(): void {
    try {
      this.remove();
      // A write here proves the directory exists and is writable before anything is claimed.
      // It is not created: the pod's emptyDir is there, and a recursive mkdir in Node 20 loops
      // for ever under a parent that answers mkdir with ENOENT, as procfs does.
      const probe = `${this.o.path}.probe-${process.pid}`;
      writeFileSync(probe, '');
      rmSync(probe, { force: true });
    } catch (err) {
      throw ztError(
        'ZT_BAD_FLAG',
        `--ready-file: cannot write in ${path.dirname(this.o.path)}: ${(err as Error).message}`,
        err,
      );
    }
    this.schedule();
  }

  /** Writes the file when ready and absent, removes it when not ready and present. */
  sync(): void {
    if (this.withdrawn) return;
    const ready = this.o.ready();
    try {
      if (ready && !this.written) this.write();
      else if (!ready && this.written) {
        this.remove();
        this.o.logger.warn({ readyFile: this.o.path }, 'not ready any more: ready file removed');
      }
    } catch (err) {
      this.o.logger.warn({ readyFile: this.o.path, err: (err as Error).message }, 'ready file not updated');
    }
  }

  /** Drain or exit: removes the file for good. Synchronous and idempotent (safe in 'exit'). */
  withdraw(): void {
    this.withdrawn = true;
    this.timer?.clear();
    this.timer = undefined;
    try {
      this.remove();
    } catch (err) {
      this.o.logger.warn({ readyFile: this.o.path, err: (err as Error).message }, 'ready file not removed');
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.sync();
      if (!this.withdrawn) this.schedule();
    }, this.o.syncMs ?? READY_FILE_SYNC_MS);
  }

  /** Written whole under a temporary name and renamed, so a probe never sees half a file. */
  private write(): void {
    const content: ReadyFileContent = {
      pid: process.pid,
      readySince: new Date(this.clock.now()).toISOString(),
    };
    const tmp = `${this.o.path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(content)}\n`);
    renameSync(tmp, this.o.path);
    this.written = true;
  }

  private remove(): void {
    rmSync(this.o.path, { force: true });
    this.written = false;
  }
}
