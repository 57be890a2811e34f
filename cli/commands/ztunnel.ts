// `ambit ztunnel`: the node's shared L4 proxy (HBONE mTLS). Parses flags and hands over to
// ztunnel/process/run-ztunnel.ts; no logic here.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_MESH_ADDRESS } from '../../core/bpf-maps/mesh-address.js';
import { runAction } from '../run-action.js';
import { duration as durationSchema, durationToMs } from '../../core/model/resources/values.js';
import { ztError } from '../../ztunnel/errors.js';
import { DEFAULT_LISTENER_LIMITS as D, type ListenerLimits } from '../../ztunnel/limits/listener-limits.js';

function hostPort(v: string): { host: string; port: number } {
  const [, host, port] = /^\[?([^\]]+)\]?:(\d+)$/.exec(v) ?? [];
  if (host === undefined || port === undefined) throw ztError('ZT_BAD_FLAG', `expected HOST:PORT, got ${v}`);
  return { host, port: Number(port) };
}

function duration(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = durationSchema.safeParse(v).success ? durationToMs(v) : 0;
  if (ms <= 0) throw ztError('ZT_BAD_FLAG', `${name}: expected a duration like 30s, 5m, 1h; got ${v}`);
  return ms;
}

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw ztError('ZT_BAD_FLAG', `${name}: expected a positive integer, got ${v}`);
  return n;
}

/** The listener-limit flags (issue 8), unset ones left to DEFAULT_LISTENER_LIMITS. */
function limitsOf(o: Opts): Partial<ListenerLimits> {
  const entries: [keyof ListenerLimits, number | undefined][] = [
    ['handshakeTimeoutMs', duration('--handshake-timeout', o.handshakeTimeout)],
    ['maxHandshakes', count('--max-handshakes', o.maxHandshakes)],
    ['maxConnections', count('--max-connections', o.maxConnections)],
    ['maxConnectionsPerSource', count('--max-connections-per-source', o.maxConnectionsPerSource)],
    ['maxStreamsPerConnection', count('--max-streams-per-connection', o.maxStreamsPerConnection)],
    ['resetBudget', count('--reset-budget', o.resetBudget)],
    ['fdReserve', count('--fd-reserve', o.fdReserve)],
  ];
  const limits: Partial<ListenerLimits> = {};
  for (const [k, v] of entries) if (v !== undefined) limits[k] = v;
  return limits;
}

interface Opts {
  handshakeTimeout?: string;
  maxHandshakes?: string;
  maxConnections?: string;
  maxConnectionsPerSource?: string;
  maxStreamsPerConnection?: string;
  resetBudget?: string;
  fdReserve?: string;
  node: string;
  controller: string;
  stateDir: string;
  tokenFile?: string;
  address?: string;
  meshAddress: string;
  socks5?: string;
  workers: string;
  idleTimeout?: string;
  certTtl?: string;
  drainLimit?: string;
  readyFile?: string;
  logLevel: string;
  originalDestinationMap?: string;
}

export function registerZtunnel(program: Command): void {
  program
    .command('ztunnel')
    .description("run the node's ztunnel: HBONE mTLS tunnels, L4 policy, TCP telemetry")
    .requiredOption('--node <name>', 'the Node this ztunnel serves')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option(
      '--token-file <file>',
      "this node's scoped bootstrap token (`ambit token create --node NAME`); default: the state dir's join-token",
    )
    .option('--address <ip>', "address to listen on for 15008/15020/15021 (overrides the Node's InternalIP)")
    .option(
      '--mesh-address <ip>',
      'capture listeners (15001, 15006) and source address for dials to local pods',
      DEFAULT_MESH_ADDRESS,
    )
    .option(
      '--socks5 <host:port>',
      'also accept SOCKS5 CONNECT here (the outbound path, destination given explicitly)',
    )
    .option(
      '--workers <n|auto>',
      'worker processes sharing the ports with SO_REUSEPORT (auto = one per core, at most 4)',
      'auto',
    )
    .option(
      '--idle-timeout <duration>',
      'close connections quiet for this long (default: never; a TrafficPolicy overrides per Service)',
    )
    .option(
      '--cert-ttl <duration>',
      'workload certificate lifetime to ask the CA for (default: the CA default, 24h)',
    )
    .option(
      '--original-destination-map <SRC=DST:PORT,...>',
      'testing/benchmarks without the kernel redirect: captured connections from SRC go to DST:PORT',
    )
    .option(
      '--handshake-timeout <duration>',
      `close a TLS (15008) or SOCKS5 handshake not done by then (default ${D.handshakeTimeoutMs / 1000}s)`,
    )
    .option(
      '--max-handshakes <n>',
      `handshakes in flight per listener; more are closed at once (default ${D.maxHandshakes})`,
    )
    .option('--max-connections <n>', `open connections per listener (default ${D.maxConnections})`)
    .option(
      '--max-connections-per-source <n>',
      `open connections per listener from one source address (default ${D.maxConnectionsPerSource})`,
    )
    .option(
      '--max-streams-per-connection <n>',
      `HTTP/2 MAX_CONCURRENT_STREAMS advertised on 15008 (default ${D.maxStreamsPerConnection})`,
    )
    .option(
      '--reset-budget <n>',
      `streams reset within their first second per HBONE connection per ${D.resetWindowMs / 1000}s before GOAWAY ENHANCE_YOUR_CALM (default ${D.resetBudget})`,
    )
    .option(
      '--fd-reserve <n>',
      `file descriptors kept free for dials and readiness: new inbound connections are refused past RLIMIT_NOFILE minus this (default ${D.fdReserve})`,
    )
    .option(
      '--drain-limit <duration>',
      'on SIGTERM: listeners close at once (a new ztunnel on the same ports takes new connections), established ones run until this limit (default 5s)',
    )
    .option(
      '--ready-file <path>',
      'keep this file while this process is ready (as /healthz/ready), remove it on drain and exit: a readiness probe no other ztunnel on the same ports can answer',
    )
    .option('--log-level <level>', 'pino log level', process.env.AMBIT_LOG_LEVEL ?? 'info')
    .action(
      runAction(async (o: Opts) => {
        const workers = o.workers === 'auto' ? Math.min(availableParallelism(), 4) : Number(o.workers);
        if (!Number.isInteger(workers) || workers < 1)
          throw ztError('ZT_BAD_FLAG', `--workers: expected a positive integer or auto, got ${o.workers}`);
        const idleTimeoutMs = duration('--idle-timeout', o.idleTimeout);
        const workloadCertTtlMs = duration('--cert-ttl', o.certTtl);
        const drainLimitMs = duration('--drain-limit', o.drainLimit);
        // The CA backdates certificates 5 min; with a lifetime under ~6 min, half-life falls in the
        // past at issuance and the rotator would renew in a loop.
        if (workloadCertTtlMs !== undefined && workloadCertTtlMs < 6 * 60_000) {
          throw ztError(
            'ZT_BAD_FLAG',
            '--cert-ttl must be at least 6m (the CA backdates certificates by 5 min)',
          );
        }
        const limits = limitsOf(o);
        // imported only when the command runs: every `ambit` invocation loads this file
        const { runZtunnel } = await import('../../ztunnel/process/run-ztunnel.js');
        await runZtunnel({
          node: o.node,
          controller: o.controller,
          stateDir: o.stateDir,
          ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
          meshAddress: o.meshAddress,
          workers,
          logLevel: o.logLevel,
          ...(o.address ? { address: o.address } : {}),
          ...(o.socks5 ? { socks5: hostPort(o.socks5) } : {}),
          ...(o.originalDestinationMap ? { originalDestinationMap: o.originalDestinationMap } : {}),
          ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
          ...(workloadCertTtlMs ? { workloadCertTtlMs } : {}),
          ...(drainLimitMs ? { drainLimitMs } : {}),
          ...(o.readyFile ? { readyFile: o.readyFile } : {}),
          ...(Object.keys(limits).length > 0 ? { limits } : {}),
        });
      }),
    );
}
