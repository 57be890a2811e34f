// Runs `ambit ztunnel`: one process, or with --workers N a primary and N worker processes. Each
// worker is a whole ztunnel (own discovery stream, certificates and pool) listening on the same
// ports through SO_REUSEPORT sockets, so the kernel spreads connections across cores with no hop
// through the primary. The primary serves 15020 (metrics summed over workers, debug from one)
// and 15021 (ready when every worker is), and restarts a worker that dies. Workers are plain
// child_process.fork() children, not cluster workers: Node's cluster intercepts listen({fd}) in
// a worker and asks the primary for the handle, which defeats SO_REUSEPORT.
import { fork as forkProcess, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { Logger } from 'pino';
import { createLogger, exitAfterFlush } from '../../core/telemetry/logger.js';
import { AggregatorRegistry } from 'prom-client';
import { Ztunnel, ZTUNNEL_PORTS } from '../ztunnel.js';
import { ControllerControlPlane } from '../controller-control-plane.js';
import { BpfOriginalDestinationResolver, StaticBySourceResolver } from '../outbound/original-destination.js';
import {
  createAdminServer,
  createReadinessServer,
  isLoopbackRequest,
  type AdminSources,
} from '../admin/admin-server.js';
import { AmbitError } from '../../core/errors.js';
import { ztError } from '../errors.js';
import { parsePrimaryMessage, type WorkerToPrimary } from './worker-protocol.js';
import { WorkerSupervisor, type WorkerHandle } from './worker-supervisor.js';
import type { ListenerLimits } from '../limits/listener-limits.js';
import { DEFAULT_DRAIN_LIMIT_MS, enableRequestMigration } from './listener-handoff.js';
import { reusePortListener } from '../net/reuseport-socket.js';
import { ReadyFile } from './ready-file.js';

export interface ZtunnelFlags {
  node: string;
  controller: string;
  stateDir: string;
  /** Scoped bootstrap token file (`ambit token create --node`). */
  tokenFile?: string;
  address?: string;
  meshAddress: string;
  socks5?: { host: string; port: number };
  workers: number;
  idleTimeoutMs?: number;
  workloadCertTtlMs?: number;
  logLevel: string;
  /** Fixed original destinations by source IP instead of the kernel map (benchmarks, tests). */
  originalDestinationMap?: string;
  /** Listener limits from the flags (each worker enforces them on its own sockets). */
  limits?: Partial<ListenerLimits>;
  /** SIGTERM: how long established connections may run on before the process exits. */
  drainLimitMs?: number;
  /** A file present while this process is ready, removed on drain and exit (ready-file.ts). */
  readyFile?: string;
}

function newZtunnel(f: ZtunnelFlags, logger: Logger, worker: number | undefined): Ztunnel {
  return new Ztunnel({
    node: f.node,
    controlPlane: new ControllerControlPlane({
      controller: f.controller,
      stateDir: f.stateDir,
      tokenFile: f.tokenFile,
      node: f.node,
      logger,
      ...(worker !== undefined ? { instance: `worker-${worker}` } : {}),
      ...(f.workloadCertTtlMs ? { workloadCertTtlMs: f.workloadCertTtlMs } : {}),
    }),
    resolver: f.originalDestinationMap
      ? StaticBySourceResolver.parse(f.originalDestinationMap)
      : new BpfOriginalDestinationResolver(f.node, logger),
    // the kernel capture needs the agent's pins, as the resolver does; the static map stands in for both
    inpodCapture: !f.originalDestinationMap,
    meshAddress: f.meshAddress,
    logger,
    ...(f.address ? { address: f.address } : {}),
    ...(f.socks5 ? { socks5: f.socks5 } : {}),
    ...(f.idleTimeoutMs ? { idleTimeoutMs: f.idleTimeoutMs } : {}),
    ...(f.limits ? { limits: f.limits } : {}),
    // SO_REUSEPORT in every mode: a new ztunnel binds beside this one on upgrade (listener-handoff.ts)
    reusePort: true,
    ...(worker !== undefined ? { adminListeners: false } : {}),
  });
}

function onSignals(
  logger: Logger,
  stop: () => Promise<void>,
  drainLimitMs: number,
  readyFile: ReadyFile | undefined,
): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    // first: from here on this process is not the one a readiness probe should count
    readyFile?.withdraw();
    logger.info({ drainLimitMs }, 'ztunnel draining: listeners closed, established connections run on');
    const hard = setTimeout(() => process.exit(0), drainLimitMs);
    hard.unref();
    void stop().finally(() => exitAfterFlush(logger, 0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** The --ready-file, following `ready`; cleared now (a killed predecessor's) and on any exit. */
function startReadyFile(f: ZtunnelFlags, logger: Logger, ready: () => boolean): ReadyFile | undefined {
  if (!f.readyFile) return undefined;
  const readyFile = new ReadyFile({ path: f.readyFile, ready, logger });
  readyFile.start();
  process.on('exit', () => readyFile.withdraw());
  return readyFile;
}

export async function runZtunnel(f: ZtunnelFlags): Promise<void> {
  const logger = createLogger('ztunnel', { level: f.logLevel, base: { node: f.node } });
  // Flags a worker would trip over fail here, once, before anything is forked.
  if (f.originalDestinationMap) StaticBySourceResolver.parse(f.originalDestinationMap);
  const drainLimitMs = f.drainLimitMs ?? DEFAULT_DRAIN_LIMIT_MS;
  if (f.workers <= 1) {
    enableRequestMigration(logger);
    const z = newZtunnel(f, logger, undefined);
    const readyFile = startReadyFile(f, logger, () => z.ready());
    onSignals(logger, () => z.stop(), drainLimitMs, readyFile);
    await z.start();
    readyFile?.sync(); // at once, beside the "ztunnel ready" line, not a sync period later
    return;
  }
  const workerId = process.env.AMBIT_ZTUNNEL_WORKER;
  if (workerId === undefined) {
    enableRequestMigration(logger);
    return runPrimary(f, logger, drainLimitMs);
  }
  return runWorker(f, logger.child({ worker: Number(workerId) }), Number(workerId));
}

async function runWorker(f: ZtunnelFlags, logger: Logger, id: number): Promise<void> {
  const z = newZtunnel(f, logger, id);
  // With a callback, a send on a channel the primary already closed (it exits as soon as one
  // worker fails to start) reports to the callback instead of crashing this worker with an
  // uncaught ERR_IPC_CHANNEL_CLOSED whose stack would be the last thing on the shared stderr.
  const send = (m: WorkerToPrimary): void => {
    if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
  };
  process.on('disconnect', () => void z.stop().finally(() => process.exit(0)));
  process.on('message', (raw: unknown) => {
    const m = parsePrimaryMessage(raw);
    if (!m) {
      logger.warn({ message: raw }, 'unknown message from the primary');
      return;
    }
    switch (m.type) {
      case 'ztunnel-metrics-req':
        void z.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => send({ type: 'ztunnel-metrics-res', id: m.id, metrics }));
        return;
      case 'ztunnel-dump-req':
        send({
          type: 'ztunnel-dump-res',
          id: m.id,
          body: m.what === 'workloads' ? z.workloadsDump() : z.configDump(),
        });
        return;
      case 'ztunnel-stop':
        void z.stop().finally(() => process.exit(0));
        return;
      default: {
        const never: never = m;
        logger.warn({ message: never }, 'unknown message from the primary');
      }
    }
  });
  try {
    await z.start();
  } catch (err) {
    const code = err instanceof AmbitError ? err.code : undefined;
    send({ type: 'ztunnel-failed', message: (err as Error).message, ...(code ? { code } : {}) });
    throw err;
  }
  const hbone = z.bound.hbone;
  if (!hbone) throw ztError('ZT_LISTEN', 'the worker started without an HBONE listener');
  send({ type: 'ztunnel-ready', address: hbone.address });
}

/** A worker process forked from this one (same argv), seen through the supervisor's handle. */
function forkWorker(id: number): WorkerHandle {
  const script = process.argv[1];
  if (script === undefined) throw ztError('ZT_WORKER_START', 'cannot fork a worker: no script in argv');
  const child: ChildProcess = forkProcess(script, process.argv.slice(2), {
    env: { ...process.env, AMBIT_ZTUNNEL_WORKER: String(id) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    send: (m) => void child.send(m),
    kill: () => void child.kill('SIGKILL'),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    onMessage: (fn) => void child.on('message', fn),
    onExit: (fn) => void child.on('exit', fn),
  };
}

/**
 * The primary: a WorkerSupervisor (worker-supervisor.ts) over forked workers, plus 15020 and
 * 15021 served from here once the first worker is ready. A worker failing during start-up ends
 * `ambit ztunnel` with its one-line cause; later deaths are restarted with backoff.
 */
async function runPrimary(f: ZtunnelFlags, logger: Logger, drainLimitMs: number): Promise<void> {
  const servers: http.Server[] = [];
  const supervisor = new WorkerSupervisor({
    workers: f.workers,
    fork: forkWorker,
    logger,
    onFirstReady: (address) =>
      void listenAdmin(address).catch((err: Error) => {
        logger.error({ err: err.message }, 'admin listeners failed');
        process.exit(1);
      }),
  });
  const allReady = () => supervisor.allReady();
  // the workers get the same argv but leave the file to the primary, which answers for them all
  const readyFile = startReadyFile(f, logger, allReady);
  const clusterMetrics = async (): Promise<string> => {
    return AggregatorRegistry.aggregate(await supervisor.metrics()).metrics();
  };
  const listenAdmin = async (address: string) => {
    const sources: AdminSources = {
      metrics: async () => ({
        contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
        body: await clusterMetrics(),
      }),
      configDump: () => supervisor.dump('config'),
      workloads: () => supervisor.dump('workloads'),
      ready: allReady,
    };
    const admin = createAdminServer(sources);
    for (const [srv, port] of [
      [admin, ZTUNNEL_PORTS.admin],
      [createReadinessServer(allReady), ZTUNNEL_PORTS.ready],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (err) =>
          reject(ztError('ZT_LISTEN', `cannot listen on ${address}:${port}: ${err.message}`, err)),
        );
        // SO_REUSEPORT like the workers' listeners: a new primary binds beside this one on upgrade
        srv.listen({ fd: reusePortListener(address, port), exclusive: true }, resolve);
      });
      servers.push(srv);
    }
    // As in one process: the debug paths answer loopback clients only, so on a node address that
    // is not loopback they are served on 127.0.0.1 too.
    if (!isLoopbackRequest(address, address)) {
      const loopback = createAdminServer(sources);
      await new Promise<void>((resolve) => {
        const warn = (err: Error) => {
          logger.warn({ err: err.message }, 'no loopback admin listener; debug endpoints unreachable');
          resolve();
        };
        let fd: number;
        try {
          fd = reusePortListener('127.0.0.1', ZTUNNEL_PORTS.admin);
        } catch (err) {
          warn(err as Error);
          return;
        }
        loopback.once('error', warn);
        loopback.listen({ fd, exclusive: true }, () => {
          servers.push(loopback);
          resolve();
        });
      });
    }
    logger.info({ address, workers: f.workers }, 'ztunnel primary serving metrics and readiness');
  };
  const closeServers = () => {
    for (const srv of servers) srv.close();
  };
  onSignals(
    logger,
    async () => {
      closeServers();
      await supervisor.stop();
    },
    drainLimitMs,
    readyFile,
  );
  try {
    await supervisor.start();
  } catch (err) {
    closeServers();
    throw err;
  }
  readyFile?.sync();
}
