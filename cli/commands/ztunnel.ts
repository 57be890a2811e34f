// `ambit ztunnel`: the node's shared L4 proxy (HBONE mTLS). Parses flags and hands over to
// ztunnel/process/run-ztunnel.ts; no logic here.
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_MESH_ADDRESS } from '../../core/bpf-maps/mesh-address.js';
import { runAction } from '../run-action.js';
import { runZtunnel } from '../../ztunnel/process/run-ztunnel.js';
import { duration as durationSchema, durationToMs } from '../../core/model/resources/values.js';
import { ztError } from '../../ztunnel/errors.js';

function hostPort(v: string): { host: string; port: number } {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(v);
  if (!m) throw ztError('ZT_BAD_FLAG', `expected HOST:PORT, got ${v}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function duration(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = durationSchema.safeParse(v).success ? durationToMs(v) : 0;
  if (ms <= 0) throw ztError('ZT_BAD_FLAG', `${name}: expected a duration like 30s, 5m, 1h; got ${v}`);
  return ms;
}

interface Opts {
  node: string;
  controller: string;
  stateDir: string;
  address?: string;
  meshAddress: string;
  socks5?: string;
  workers: string;
  idleTimeout?: string;
  certTtl?: string;
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
  tokenFile?: string;
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
    .option('--log-level <level>', 'pino log level', process.env.AMBIT_LOG_LEVEL ?? 'info')
    .action(
      runAction(async (o: Opts) => {
        const workers = o.workers === 'auto' ? Math.min(availableParallelism(), 4) : Number(o.workers);
        if (!Number.isInteger(workers) || workers < 1)
    .option(
      '--token-file <file>',
      "this node's scoped bootstrap token (`ambit token create --node NAME`); default: the state dir's join-token",
    )
          throw ztError('ZT_BAD_FLAG', `--workers: expected a positive integer or auto, got ${o.workers}`);
        const idleTimeoutMs = duration('--idle-timeout', o.idleTimeout);
        const workloadCertTtlMs = duration('--cert-ttl', o.certTtl);
        // The CA backdates certificates 5 min; with a lifetime under ~6 min, half-life falls in the
        // past at issuance and the rotator would renew in a loop.
        if (workloadCertTtlMs !== undefined && workloadCertTtlMs < 6 * 60_000) {
          throw ztError(
            'ZT_BAD_FLAG',
            '--cert-ttl must be at least 6m (the CA backdates certificates by 5 min)',
          );
        }
        await runZtunnel({
          node: o.node,
          controller: o.controller,
          stateDir: o.stateDir,
          meshAddress: o.meshAddress,
          workers,
          logLevel: o.logLevel,
          ...(o.address ? { address: o.address } : {}),
          ...(o.socks5 ? { socks5: hostPort(o.socks5) } : {}),
          ...(o.originalDestinationMap ? { originalDestinationMap: o.originalDestinationMap } : {}),
          ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
          ...(workloadCertTtlMs ? { workloadCertTtlMs } : {}),
        });
      }),
    );
}
          ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
