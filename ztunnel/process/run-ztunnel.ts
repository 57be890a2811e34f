// Runs `ambit ztunnel`: one process, or with --workers N a primary and N worker processes. Each
// worker is a whole ztunnel (own discovery stream, certificates and pool) listening on the same
// ports through SO_REUSEPORT sockets, so the kernel spreads connections across cores with no hop
// through the primary. The primary serves 15020 (metrics summed over workers, debug from one)
// and 15021 (ready when every worker is), and restarts a worker that dies.
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { Ztunnel, ZTUNNEL_PORTS } from '../ztunnel.js';
import { ControllerControlPlane } from '../controller-control-plane.js';
import { BpfOriginalDestinationResolver } from '../outbound/original-destination.js';
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
}

const STOP_GRACE_MS = 5_000;

function newZtunnel(f: ZtunnelFlags, logger: Logger, worker: boolean): Ztunnel {
  return new Ztunnel({
    node: f.node,
    controlPlane: new ControllerControlPlane({
      controller: f.controller,
      stateDir: f.stateDir,
      node: f.node,
      logger,
      ...(f.workloadCertTtlMs ? { workloadCertTtlMs: f.workloadCertTtlMs } : {}),
    }),
    resolver: new BpfOriginalDestinationResolver(f.node, logger),
    meshAddress: f.meshAddress,
    logger,
    ...(f.address ? { address: f.address } : {}),
    ...(f.socks5 ? { socks5: f.socks5 } : {}),
    ...(f.idleTimeoutMs ? { idleTimeoutMs: f.idleTimeoutMs } : {}),
    ...(worker ? { reusePort: true, adminListeners: false } : {}),
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
  if (f.workers <= 1) {
    const z = newZtunnel(f, logger, false);
    onSignals(() => z.stop());
    await z.start();
    return;
  }
  if (cluster.isPrimary) return runPrimary(f, logger);
  return runWorker(f, logger);
}

type WorkerMessage =
  | { type: 'ztunnel-ready'; address: string }
  | { type: 'ztunnel-dump-res'; id: number; body: unknown }
  | { type: 'ztunnel-failed'; message: string };

async function runWorker(f: ZtunnelFlags, logger: Logger): Promise<void> {
  const z = newZtunnel(f, logger, true);
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([z.metrics.registry]);
  process.on('message', (m: { type?: string; id?: number; what?: string }) => {
    if (m.type === 'ztunnel-dump-req') {
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

async function runPrimary(f: ZtunnelFlags, logger: Logger): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  let stopping = false;
  let adminUp = false;
  let dumpId = 0;
  const pendingDumps = new Map<number, (body: unknown) => void>();
  const fork = (): Worker => {
    const w = cluster.fork();
    w.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ztunnel-ready':
          ready.add(w.id);
          if (!adminUp) {
            adminUp = true;
            void listenAdmin(m.address).catch((err: Error) => {
              logger.error({ err: err.message }, 'admin listeners failed');
              process.exit(1);
            });
          }
          return;
        case 'ztunnel-dump-res':
          pendingDumps.get(m.id)?.(m.body);
          pendingDumps.delete(m.id);
          return;
        case 'ztunnel-failed':
          logger.error({ worker: w.id, err: m.message }, 'ztunnel worker failed to start');
          return;
        default: {
          const never: never = m;
          logger.warn({ m: never }, 'unknown worker message');
        }
      }
    });
    return w;
  };
  const allReady = () => ready.size >= f.workers;
  cluster.on('exit', (w, code, signal) => {
    ready.delete(w.id);
    if (stopping) return;
    logger.warn({ worker: w.id, code, signal }, 'ztunnel worker exited; starting another');
    setTimeout(fork, 500).unref();
  });
  const dump = (what: string): Promise<unknown> => {
    const w = Object.values(cluster.workers ?? {}).find((x) => x && ready.has(x.id));
    if (!w) return Promise.resolve({ error: 'no ready worker' });
    const id = ++dumpId;
    return new Promise((resolve) => {
      pendingDumps.set(id, resolve);
      w.send({ type: 'ztunnel-dump-req', id, what });
      setTimeout(() => {
        if (pendingDumps.delete(id)) resolve({ error: 'worker did not answer' });
      }, 5_000).unref();
    });
  };
  const servers: http.Server[] = [];
  const listenAdmin = async (address: string) => {
    let cache: { config?: unknown; workloads?: unknown } = {};
    const refresh = async () => {
      cache = { config: await dump('config'), workloads: await dump('workloads') };
    };
    await refresh();
    const t = setInterval(() => void refresh(), 2_000);
    t.unref();
    const admin = createAdminServer({
      metrics: async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }),
      configDump: () => cache.config,
      workloads: () => cache.workloads,
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
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.send({ type: 'ztunnel-stop' });
          }),
      ),
    );
  });
  for (let i = 0; i < f.workers; i++) fork();
}
