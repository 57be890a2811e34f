import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ZtunnelError } from '../errors.js';
import { parsePrimaryMessage, parseWorkerMessage, type PrimaryToWorker } from './worker-protocol.js';
import {
  WORKER_REQUEST_TIMEOUT_MS,
  WORKER_STOP_GRACE_MS,
  WorkerSupervisor,
  type WorkerHandle,
} from './worker-supervisor.js';

/** A worker process as the supervisor sees it, driven by the test. */
class FakeWorker implements WorkerHandle {
  readonly sent: PrimaryToWorker[] = [];
  killed = false;
  private gone = false;
  private readonly events = new EventEmitter();
  constructor(readonly id: number) {}
  send(m: PrimaryToWorker): void {
    this.sent.push(m);
  }
  kill(): void {
    this.killed = true;
    this.exit(null, 'SIGKILL');
  }
  exited(): boolean {
    return this.gone;
  }
  onMessage(fn: (m: unknown) => void): void {
    this.events.on('message', fn);
  }
  onExit(fn: (code: number | null, signal: string | null) => void): void {
    this.events.on('exit', fn);
  }
  emit(m: unknown): void {
    this.events.emit('message', m);
  }
  ready(): void {
    this.emit({ type: 'ztunnel-ready', address: '127.0.0.1' });
  }
  exit(code: number | null, signal: string | null = null): void {
    if (this.gone) return;
    this.gone = true;
    this.events.emit('exit', code, signal);
  }
}

function setup(workers: number) {
  const forks: FakeWorker[] = [];
  const announced: string[] = [];
  const sup = new WorkerSupervisor({
    workers,
    logger: pino({ level: 'silent' }),
    random: () => 0, // no jitter: restarts land on the backoff's ceiling
    onFirstReady: (a) => announced.push(a),
    fork: (id) => {
      const w = new FakeWorker(id);
      forks.push(w);
      return w;
    },
  });
  /** The newest process of worker `id`. */
  const current = (id: number): FakeWorker => {
    const w = forks.filter((f) => f.id === id).at(-1);
    if (!w) throw new Error(`worker ${id} never forked`);
    return w;
  };
  return { sup, forks, announced, current };
}

/** A start() promise's outcome so far, without awaiting it. */
function track(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; err?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; err?: unknown } = { state: 'pending' };
  p.then(
    () => (t.state = 'resolved'),
    (err: unknown) => {
      t.state = 'rejected';
      t.err = err;
    },
  );
  return t;
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('worker protocol', () => {
  it.each([
    { m: { type: 'ztunnel-ready', address: '10.0.0.1' }, ok: true },
    { m: { type: 'ztunnel-metrics-res', id: 3, metrics: [] }, ok: true },
    { m: { type: 'ztunnel-dump-res', id: 3, body: { a: 1 } }, ok: true },
    { m: { type: 'ztunnel-failed', message: 'port taken', code: 'ZT_LISTEN' }, ok: true },
    { m: { type: 'ztunnel-failed', message: 'no code' }, ok: true },
    { m: { type: 'ztunnel-ready' }, ok: false },
    { m: { type: 'ztunnel-metrics-res', id: -1, metrics: [] }, ok: false },
    { m: { type: 'ztunnel-metrics-res', id: 1, metrics: 'x' }, ok: false },
    { m: { type: 'ztunnel-stop' }, ok: false },
    { m: 'ztunnel-ready', ok: false },
    { m: null, ok: false },
  ])('worker -> primary $m: valid=$ok', ({ m, ok }) => {
    expect(parseWorkerMessage(m) !== undefined).toBe(ok);
  });

  it.each([
    { m: { type: 'ztunnel-metrics-req', id: 1 }, ok: true },
    { m: { type: 'ztunnel-dump-req', id: 2, what: 'workloads' }, ok: true },
    { m: { type: 'ztunnel-dump-req', id: 2, what: 'secrets' }, ok: false },
    { m: { type: 'ztunnel-dump-req', what: 'config' }, ok: false },
    { m: { type: 'ztunnel-stop' }, ok: true },
    { m: { type: 'ztunnel-ready', address: 'x' }, ok: false },
  ])('primary -> worker $m: valid=$ok', ({ m, ok }) => {
    expect(parsePrimaryMessage(m) !== undefined).toBe(ok);
  });
});

describe('WorkerSupervisor on fake time', () => {
  it('start-up: forks every worker, announces the first ready one, resolves once all are ready', async () => {
    const { sup, forks, announced, current } = setup(3);
    const started = track(sup.start());
    expect(forks.map((f) => f.id)).toEqual([1, 2, 3]);
    current(2).ready();
    current(1).ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.state).toBe('pending');
    expect(sup.allReady()).toBe(false);
    expect(announced).toEqual(['127.0.0.1']);
    current(3).ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.state).toBe('resolved');
    expect(sup.allReady()).toBe(true);
    expect(announced).toHaveLength(1);
  });

  it.each([
    {
      name: 'a worker reporting a failed start',
      fail: (w: FakeWorker) =>
        w.emit({ type: 'ztunnel-failed', message: 'listen EADDRINUSE :15008', code: 'ZT_LISTEN' }),
      message: 'ztunnel worker 2 failed to start: listen EADDRINUSE :15008',
      cause: 'ZT_LISTEN',
    },
    {
      name: 'a worker exiting before it was ready',
      fail: (w: FakeWorker) => w.exit(1),
      message: 'ztunnel worker 2 exited during start-up (code 1, signal null)',
      cause: undefined,
    },
  ])('start-up fails on $name: the others are stopped, start() rejects with the cause', async (c) => {
    const { sup, forks, current } = setup(3);
    const started = track(sup.start());
    current(1).ready();
    c.fail(current(2));
    await vi.advanceTimersByTimeAsync(0);
    // the others were asked to stop; start() waits for them to exit
    expect(current(1).sent).toContainEqual({ type: 'ztunnel-stop' });
    expect(current(3).sent).toContainEqual({ type: 'ztunnel-stop' });
    expect(started.state).toBe('pending');
    current(1).exit(0);
    current(2).exit(1);
    await vi.advanceTimersByTimeAsync(WORKER_STOP_GRACE_MS); // worker 3 ignores the stop: killed
    expect(current(3).killed).toBe(true);
    expect(started.state).toBe('rejected');
    expect(started.err).toBeInstanceOf(ZtunnelError);
    expect(started.err).toMatchObject({ code: 'ZT_WORKER_START', message: c.message });
    expect((started.err as Error).cause).toMatchObject(c.cause ? { code: c.cause } : {});
    // nothing was restarted
    expect(forks).toHaveLength(3);
  });

  it('a worker dying later is restarted with backoff (0.5, 1, 2 s ...), reset once it is ready again', async () => {
    const { sup, forks, current } = setup(2);
    const started = track(sup.start());
    current(1).ready();
    current(2).ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.state).toBe('resolved');

    const restartsAt: number[] = [];
    const t0 = Date.now();
    const dieAndAwaitFork = async (): Promise<void> => {
      const before = forks.length;
      current(2).exit(1);
      expect(sup.allReady()).toBe(false);
      while (forks.length === before) await vi.advanceTimersByTimeAsync(50);
      restartsAt.push(Date.now() - t0);
    };
    await dieAndAwaitFork(); // 500 ms
    await dieAndAwaitFork(); // dies again before ready: +1000 ms
    await dieAndAwaitFork(); // +2000 ms
    current(2).ready(); // healthy: the backoff resets
    expect(sup.allReady()).toBe(true);
    await dieAndAwaitFork(); // +500 ms again
    expect(restartsAt).toEqual([500, 1_500, 3_500, 4_000]);
    expect(forks.filter((f) => f.id === 1)).toHaveLength(1);
  });

  it('stop() asks every worker to stop, kills the ones that do not exit in time and cancels pending restarts', async () => {
    const { sup, forks, current } = setup(3);
    const started = track(sup.start());
    for (const id of [1, 2, 3]) current(id).ready();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.state).toBe('resolved');
    current(3).exit(1); // a restart is now pending
    let stopped = false;
    void sup.stop().then(() => (stopped = true));
    expect(current(1).sent).toEqual([{ type: 'ztunnel-stop' }]);
    expect(current(2).sent).toEqual([{ type: 'ztunnel-stop' }]);
    current(1).exit(0);
    await vi.advanceTimersByTimeAsync(WORKER_STOP_GRACE_MS - 1);
    expect(stopped).toBe(false);
    expect(current(2).killed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(current(2).killed).toBe(true);
    expect(current(1).killed).toBe(false);
    expect(stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(forks).toHaveLength(3); // the pending restart never happened
  });

  it('dump() and metrics() ask ready workers and give up on one that does not answer', async () => {
    const { sup, current } = setup(2);
    void sup.start();
    current(1).ready();
    current(2).ready();
    await vi.advanceTimersByTimeAsync(0);

    const dump = sup.dump('workloads');
    const req = current(1).sent.at(-1);
    expect(req).toMatchObject({ type: 'ztunnel-dump-req', what: 'workloads' });
    current(1).emit({ type: 'ztunnel-dump-res', id: (req as { id: number }).id, body: { workloads: 4 } });
    await expect(dump).resolves.toEqual({ workloads: 4 });

    const metrics = sup.metrics();
    const r1 = current(1).sent.at(-1) as { id: number };
    current(1).emit({ type: 'ztunnel-metrics-res', id: r1.id, metrics: [{ name: 'a' }] });
    current(1).emit({ type: 'ztunnel-metrics-res', id: 'not a number', metrics: [] }); // invalid: ignored
    await vi.advanceTimersByTimeAsync(WORKER_REQUEST_TIMEOUT_MS); // worker 2 never answers
    await expect(metrics).resolves.toEqual([[{ name: 'a' }]]);

    const silent = sup.dump('config');
    await vi.advanceTimersByTimeAsync(WORKER_REQUEST_TIMEOUT_MS);
    await expect(silent).resolves.toEqual({ error: 'worker did not answer' });
  });
});
