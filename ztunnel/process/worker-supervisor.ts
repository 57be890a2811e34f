// The `--workers` primary's supervisor: a small state machine over N worker slots. It forks
// every worker, resolves start() once each has been ready once, fails start() with the worker's
// cause when one fails before that, restarts a worker that dies later with the shared
// exponential backoff (reset when the worker is ready again), answers metrics and dump requests
// through a ready worker, and stops them all. It holds no sockets and forks nothing itself: the
// fork is injected, so tests drive it with fake workers on fake time.
import type { Logger } from 'pino';
import { AmbitError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import { ExponentialBackoff, type BackoffPolicy } from '../../core/policy/exponential-backoff.js';
import { ztError } from '../errors.js';
import {
  parseWorkerMessage,
  type DumpKind,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from './worker-protocol.js';

/** Restarts of a worker that keeps dying: 0.5 s doubling to 30 s, reset once it is ready. */
export const WORKER_RESTART_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2 };
export const WORKER_STOP_GRACE_MS = 5_000;
export const WORKER_REQUEST_TIMEOUT_MS = 5_000;

/** One forked worker process, as the supervisor sees it. */
export interface WorkerHandle {
  send(m: PrimaryToWorker): void;
  /** SIGKILL. */
  kill(): void;
  /** True once the process has exited. */
  exited(): boolean;
  onMessage(fn: (m: unknown) => void): void;
  onExit(fn: (code: number | null, signal: string | null) => void): void;
}

export type ForkWorker = (id: number) => WorkerHandle;

export interface WorkerSupervisorOptions {
  workers: number;
  fork: ForkWorker;
  logger: Logger;
  /** Called once, when the first worker is ready, with the address it serves on. */
  onFirstReady?: (address: string) => void;
  clock?: Clock;
  /** The restart backoff's jitter source; Math.random by default. */
  random?: () => number;
}

/** The supervisor's phase: it only moves forward. */
type Phase = 'idle' | 'starting' | 'running' | 'stopping';

/** One worker slot: its current process, if any, and whether that process is ready. */
interface Slot {
  readonly id: number;
  worker: WorkerHandle | undefined;
  ready: boolean;
  readonly restarts: ExponentialBackoff;
}

export class WorkerSupervisor {
  private phase: Phase = 'idle';
  private readonly slots: Slot[] = [];
  private readonly clock: Clock;
  private announced = false;
  private startup: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private nextRequestId = 0;
  private readonly pending = new Map<number, (m: WorkerToPrimary | undefined) => void>();

  constructor(private readonly o: WorkerSupervisorOptions) {
    this.clock = o.clock ?? systemClock;
    for (let id = 1; id <= o.workers; id++) {
      this.slots.push({
        id,
        worker: undefined,
        ready: false,
        restarts: new ExponentialBackoff(WORKER_RESTART_BACKOFF, {
          clock: this.clock,
          ...(o.random ? { random: o.random } : {}),
        }),
      });
    }
  }

  /** Forks every worker; resolves once each has been ready once, rejects with ZT_WORKER_START. */
  start(): Promise<void> {
    if (this.phase !== 'idle') throw new Error(`WorkerSupervisor.start() in phase ${this.phase}`);
    this.phase = 'starting';
    const started = new Promise<void>((resolve, reject) => (this.startup = { resolve, reject }));
    for (const slot of this.slots) this.fork(slot);
    return started;
  }

  /** Every worker is ready (the primary's /healthz/ready). */
  allReady(): boolean {
    return this.slots.every((s) => s.ready);
  }

  readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Stops every worker: asks each to stop, kills it after the grace period; resolves when all exited. */
  async stop(): Promise<void> {
    this.phase = 'stopping';
    for (const slot of this.slots) slot.restarts.cancel();
    await Promise.all(this.slots.map((s) => this.stopWorker(s)));
  }

  /** The config or workloads dump of one ready worker (they hold the same snapshot). */
  async dump(what: DumpKind): Promise<unknown> {
    const slot = this.slots.find((s) => s.ready && s.worker);
    if (!slot?.worker) return { error: 'no ready worker' };
    const r = await this.ask(slot.worker, (id) => ({ type: 'ztunnel-dump-req', id, what }));
    return r?.type === 'ztunnel-dump-res' ? r.body : { error: 'worker did not answer' };
  }

  /** Each ready worker's metrics as prom-client JSON; a worker that does not answer in time is left out. */
  async metrics(): Promise<unknown[][]> {
    const ready = this.slots.flatMap((s) => (s.ready && s.worker ? [s.worker] : []));
    const rs = await Promise.all(
      ready.map((w) => this.ask(w, (id) => ({ type: 'ztunnel-metrics-req', id }))),
    );
    return rs.flatMap((r) => (r?.type === 'ztunnel-metrics-res' ? [r.metrics] : []));
  }

  private fork(slot: Slot): void {
    const w = this.o.fork(slot.id);
    slot.worker = w;
    slot.ready = false;
    w.onMessage((raw) => {
      const m = parseWorkerMessage(raw);
      if (!m) {
        this.o.logger.warn({ worker: slot.id, message: raw }, 'unknown worker message');
        return;
      }
      if (slot.worker === w) this.onMessage(slot, m);
    });
    w.onExit((code, signal) => {
      if (slot.worker === w) this.onExit(slot, code, signal);
    });
  }

  private onMessage(slot: Slot, m: WorkerToPrimary): void {
    switch (m.type) {
      case 'ztunnel-ready':
        slot.ready = true;
        slot.restarts.reset();
        if (!this.announced) {
          this.announced = true;
          this.o.onFirstReady?.(m.address);
        }
        if (this.phase === 'starting' && this.allReady()) {
          this.phase = 'running';
          this.startup?.resolve();
        }
        return;
      case 'ztunnel-dump-res':
      case 'ztunnel-metrics-res':
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
        return;
      case 'ztunnel-failed': {
        this.o.logger.error({ worker: slot.id, err: m.message }, 'ztunnel worker failed to start');
        const cause = m.code === undefined ? new Error(m.message) : new AmbitError(m.code, m.message);
        if (this.phase === 'starting')
          this.abortStart(
            ztError('ZT_WORKER_START', `ztunnel worker ${slot.id} failed to start: ${m.message}`, cause),
          );
        return;
      }
      default: {
        const never: never = m;
        this.o.logger.warn({ worker: slot.id, message: never }, 'unknown worker message');
      }
    }
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    slot.worker = undefined;
    slot.ready = false;
    switch (this.phase) {
      case 'idle':
      case 'stopping':
        return;
      case 'starting':
        this.abortStart(
          ztError(
            'ZT_WORKER_START',
            `ztunnel worker ${slot.id} exited during start-up (code ${code}, signal ${signal})`,
          ),
        );
        return;
      case 'running': {
        const restartInMs = slot.restarts.schedule(() => {
          if (this.phase === 'running') this.fork(slot);
        });
        this.o.logger.warn(
          { worker: slot.id, code, signal, restartInMs },
          'ztunnel worker exited; starting another',
        );
        return;
      }
      default: {
        const never: never = this.phase;
        throw new Error(`unknown phase ${String(never)}`);
      }
    }
  }

  /** A worker failed before all were ready: stop the others, then fail start() with its cause. */
  private abortStart(err: Error): void {
    if (this.phase !== 'starting') return;
    const startup = this.startup;
    void this.stop().finally(() => startup?.reject(err));
  }

  private stopWorker(slot: Slot): Promise<void> {
    const w = slot.worker;
    if (!w || w.exited()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const kill = this.clock.setTimeout(() => w.kill(), WORKER_STOP_GRACE_MS);
      w.onExit(() => {
        kill.clear();
        resolve();
      });
      w.send({ type: 'ztunnel-stop' });
    });
  }

  private ask(
    w: WorkerHandle,
    request: (id: number) => PrimaryToWorker,
  ): Promise<WorkerToPrimary | undefined> {
    const id = ++this.nextRequestId;
    return new Promise((resolve) => {
      const timeout = this.clock.setTimeout(() => {
        if (this.pending.delete(id)) resolve(undefined);
      }, WORKER_REQUEST_TIMEOUT_MS);
      this.pending.set(id, (m) => {
        timeout.clear();
        resolve(m);
      });
      w.send(request(id));
    });
  }
}
