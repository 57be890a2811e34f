// Runs `ambit ztunnel`: one process, or with --workers N a primary and N worker processes. Each
// worker is a whole ztunnel (own discovery stream, certificates and pool) listening on the same
// ports through SO_REUSEPORT sockets, so the kernel spreads connections across cores with no hop
// through the primary. The primary serves 15020 (metrics summed over workers, debug from one)
// and 15021 (ready when every worker is), and restarts a worker that dies. Workers are plain
// child_process.fork() children, not cluster workers: Node's cluster intercepts listen({fd}) in
// a worker and asks the primary for the handle, which defeats SO_REUSEPORT.
import { fork as forkProcess, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { Ztunnel, ZTUNNEL_PORTS } from '../ztunnel.js';
import { ControllerControlPlane } from '../controller-control-plane.js';
import { BpfOriginalDestinationResolver, StaticBySourceResolver } from '../outbound/original-destination.js';
import { createAdminServer, createReadinessServer } from '../admin/admin-server.js';
import { ztError } from '../errors.js';

export interface ZtunnelFlags {
  node: string;
  controller: string;
  stateDir: string;
  address?: string;
  meshAddress: string;
  socks5?: { host: string; port: number };
  workers: number;
  idleTimeoutMs?: number;
  workloadCertTtlMs?: number;
  logLevel: string;
  /** Fixed original destinations by source IP instead of the kernel map (benchmarks, tests). */
  originalDestinationMap?: string;
}

const STOP_GRACE_MS = 5_000;

function newZtunnel(f: ZtunnelFlags, logger: Logger, worker: number | undefined): Ztunnel {
  return new Ztunnel({
    node: f.node,
    controlPlane: new ControllerControlPlane({
      controller: f.controller,
      stateDir: f.stateDir,
      node: f.node,
      logger,
      ...(worker !== undefined ? { instance: `worker-${worker}` } : {}),
      ...(f.workloadCertTtlMs ? { workloadCertTtlMs: f.workloadCertTtlMs } : {}),
    }),
    resolver: f.originalDestinationMap
      ? StaticBySourceResolver.parse(f.originalDestinationMap)
      : new BpfOriginalDestinationResolver(f.node, logger),
    meshAddress: f.meshAddress,
    logger,
    ...(f.address ? { address: f.address } : {}),
    ...(f.socks5 ? { socks5: f.socks5 } : {}),
    ...(f.idleTimeoutMs ? { idleTimeoutMs: f.idleTimeoutMs } : {}),
    ...(worker !== undefined ? { reusePort: true, adminListeners: false } : {}),
  });
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(0), STOP_GRACE_MS);
    hard.unref();
    void stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

export async function runZtunnel(f: ZtunnelFlags): Promise<void> {
  const logger = pino({ name: 'ztunnel', level: f.logLevel, base: { node: f.node, pid: process.pid } });
  // Flags a worker would trip over fail here, once, before anything is forked.
  if (f.originalDestinationMap) StaticBySourceResolver.parse(f.originalDestinationMap);
  if (f.workers <= 1) {
    const z = newZtunnel(f, logger, undefined);
    onSignals(() => z.stop());
    await z.start();
    return;
  }
  const workerId = process.env.AMBIT_ZTUNNEL_WORKER;
  if (workerId === undefined) return runPrimary(f, logger);
  return runWorker(f, logger.child({ worker: Number(workerId) }), Number(workerId));
}

type WorkerMessage =
  | { type: 'ztunnel-ready'; address: string }
  | { type: 'ztunnel-metrics-res'; id: number; metrics: unknown[] }
  | { type: 'ztunnel-dump-res'; id: number; body: unknown }
  | { type: 'ztunnel-failed'; message: string };

async function runWorker(f: ZtunnelFlags, logger: Logger, id: number): Promise<void> {
  const z = newZtunnel(f, logger, id);
  process.on('disconnect', () => void z.stop().finally(() => process.exit(0)));
  process.on('message', (m: { type?: string; id?: number; what?: string }) => {
    if (m.type === 'ztunnel-metrics-req') {
      void z.metrics.registry
        .getMetricsAsJSON()
        .then((metrics) =>
          process.send?.({ type: 'ztunnel-metrics-res', id: m.id ?? 0, metrics } satisfies WorkerMessage),
        );
    } else if (m.type === 'ztunnel-dump-req') {
      const body = m.what === 'workloads' ? z.workloadsDump() : z.configDump();
      process.send?.({ type: 'ztunnel-dump-res', id: m.id ?? 0, body } satisfies WorkerMessage);
    } else if (m.type === 'ztunnel-stop') {
      void z.stop().finally(() => process.exit(0));
    }
  });
  try {
    await z.start();
  } catch (err) {
    process.send?.({ type: 'ztunnel-failed', message: (err as Error).message } satisfies WorkerMessage);
    throw err;
  }
  const hbone = z.bound.hbone!;
  process.send?.({ type: 'ztunnel-ready', address: hbone.address } satisfies WorkerMessage);
}

/**
 * Forks the workers and resolves once each has been ready once. A worker that fails before the
 * first time all were ready (bad flag, port taken, controller refusing us) is a start-up failure:
 * the others are stopped and the promise rejects with the worker's cause, so `ambit ztunnel`
 * exits non-zero with one line instead of restarting a worker that can never start. Later, a
 * worker that dies is started again, with a back-off doubling from 0.5 s to 30 s while it keeps
 * failing before it is ready.
 */
async function runPrimary(f: ZtunnelFlags, logger: Logger): Promise<void> {
  const workers = new Map<number, ChildProcess>();
  const ready = new Set<number>();
  const failures = new Map<number, number>();
  let started = false;
  let startFailed: ((err: Error) => void) | undefined;
  let startDone: (() => void) | undefined;
  const startup = new Promise<void>((resolve, reject) => {
    startDone = resolve;
    startFailed = reject;
  });
  let stopping = false;
  let adminUp = false;
  let reqId = 0;
  const pending = new Map<number, (m: WorkerMessage) => void>();
  const fork = (id: number): void => {
    const w = forkProcess(process.argv[1]!, process.argv.slice(2), {
      env: { ...process.env, AMBIT_ZTUNNEL_WORKER: String(id) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.set(id, w);
    w.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ztunnel-ready':
          ready.add(id);
          failures.delete(id);
          if (!started && ready.size >= f.workers) {
            started = true;
            startDone?.();
          }
          if (!adminUp) {
            adminUp = true;
            void listenAdmin(m.address).catch((err: Error) => {
              logger.error({ err: err.message }, 'admin listeners failed');
              process.exit(1);
            });
          }
          return;
        case 'ztunnel-dump-res':
        case 'ztunnel-metrics-res':
          pending.get(m.id)?.(m);
          pending.delete(m.id);
          return;
        case 'ztunnel-failed':
          logger.error({ worker: id, err: m.message }, 'ztunnel worker failed to start');
          if (!started)
            abortStart(ztError('ZT_WORKER_START', `ztunnel worker ${id} failed to start: ${m.message}`));
          return;
        default: {
          const never: never = m;
          logger.warn({ m: never }, 'unknown worker message');
        }
      }
    });
    w.on('exit', (code, signal) => {
      ready.delete(id);
      workers.delete(id);
      if (stopping) return;
      if (!started) {
        abortStart(
          ztError(
            'ZT_WORKER_START',
            `ztunnel worker ${id} exited during start-up (code ${code}, signal ${signal})`,
          ),
        );
        return;
      }
      const n = (failures.get(id) ?? 0) + 1;
      failures.set(id, n);
      const delay = Math.min(30_000, 500 * 2 ** (n - 1));
      logger.warn(
        { worker: id, code, signal, restartInMs: delay },
        'ztunnel worker exited; starting another',
      );
      setTimeout(() => fork(id), delay).unref();
    });
  };
  const stopWorkers = () =>
    Promise.all(
      [...workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            w.once('exit', () => resolve());
            w.send({ type: 'ztunnel-stop' });
            setTimeout(() => w.kill('SIGKILL'), STOP_GRACE_MS).unref();
          }),
      ),
    );
  const abortStart = (err: Error) => {
    if (stopping) return;
    stopping = true;
    for (const srv of servers) srv.close();
    void stopWorkers().finally(() => startFailed?.(err));
  };
  const allReady = () => ready.size >= f.workers;
  const ask = (w: ChildProcess, msg: Record<string, unknown>): Promise<WorkerMessage | undefined> => {
    const id = ++reqId;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      w.send({ ...msg, id });
      setTimeout(() => {
        if (pending.delete(id)) resolve(undefined);
      }, 5_000).unref();
    });
  };
  const readyWorkers = () => [...workers.entries()].filter(([id]) => ready.has(id)).map(([, w]) => w);
  const dump = async (what: string): Promise<unknown> => {
    const w = readyWorkers()[0];
    if (!w) return { error: 'no ready worker' };
    const r = await ask(w, { type: 'ztunnel-dump-req', what });
    return r?.type === 'ztunnel-dump-res' ? r.body : { error: 'worker did not answer' };
  };
  const clusterMetrics = async (): Promise<string> => {
    const rs = await Promise.all(readyWorkers().map((w) => ask(w, { type: 'ztunnel-metrics-req' })));
    const lists = rs.flatMap((r) => (r?.type === 'ztunnel-metrics-res' ? [r.metrics] : []));
    return AggregatorRegistry.aggregate(
      lists as Parameters<typeof AggregatorRegistry.aggregate>[0],
    ).metrics();
  };
  const servers: http.Server[] = [];
  const listenAdmin = async (address: string) => {
    const admin = createAdminServer({
      metrics: async () => ({
        contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
        body: await clusterMetrics(),
      }),
      configDump: () => dump('config'),
      workloads: () => dump('workloads'),
      ready: allReady,
    });
    for (const [srv, port] of [
      [admin, ZTUNNEL_PORTS.admin],
      [createReadinessServer(allReady), ZTUNNEL_PORTS.ready],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (err) =>
          reject(ztError('ZT_LISTEN', `cannot listen on ${address}:${port}: ${err.message}`, err)),
        );
        srv.listen({ host: address, port }, resolve);
      });
      servers.push(srv);
    }
    logger.info({ address, workers: f.workers }, 'ztunnel primary serving metrics and readiness');
  };
  onSignals(async () => {
    stopping = true;
    for (const s of servers) s.close();
    await stopWorkers();
  });
  for (let i = 1; i <= f.workers; i++) fork(i);
  await startup;
}
