// `ambit waypoint`: the L7 proxy for a waypoint Gateway (class ambit-waypoint). Parses flags and
// hands over to waypoint/process/run-waypoint.ts; no logic here.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';
// the proxy's code is imported only when the command runs (every `ambit` invocation loads this file)
import { duration as durationSchema, durationToMs } from '../../core/model/resources/values.js';
import { wpError } from '../../waypoint/errors.js';

interface Opts {
  name: string;
  controller: string;
  stateDir: string;
  tokenFile?: string;
  address?: string;
  logLevel: string;
  drain?: string;
  traceSampling: string;
}

export function registerWaypoint(program: Command): void {
  program
    .command('waypoint')
    .description('run a waypoint proxy (L7) for a Gateway of class ambit-waypoint')
    .requiredOption('--name <ns/gateway>', 'the waypoint Gateway this proxy serves')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option(
      '--token-file <file>',
      "this waypoint's scoped bootstrap token (`ambit token create --waypoint NS/GATEWAY`)",
    )
    .option('--address <ip>', "address to listen on for 15008/15021/15090 (default: this instance's pod IP)")
    .option('--drain <duration>', 'on SIGTERM, how long requests in flight may take before exit', '20s')
    .option(
      '--trace-sampling <percent>',
      'share of requests traced when the client did not decide (spans go to OTEL_EXPORTER_OTLP_ENDPOINT)',
      '1',
    )
    .option(
      '--log-level <level>',
      'pino log level (or AMBIT_LOG_LEVEL)',
      process.env.AMBIT_LOG_LEVEL ?? 'info',
    )
    .action(
      runAction(async (o: Opts) => {
        const { DRAIN_GRACE_MS, runWaypoint } = await import('../../waypoint/process/run-waypoint.js');
        const drainMs =
          o.drain === undefined
            ? DRAIN_GRACE_MS
            : durationSchema.safeParse(o.drain).success
              ? durationToMs(o.drain)
              : -1;
        if (drainMs < 0)
          throw wpError('WP_BAD_FLAG', `--drain: expected a duration like 20s, got ${o.drain}`);
        const sampling = Number(o.traceSampling);
        if (!Number.isFinite(sampling) || sampling < 0 || sampling > 100)
          throw wpError(
            'WP_BAD_FLAG',
            `--trace-sampling: expected a percentage 0-100, got ${o.traceSampling}`,
          );
        await runWaypoint({
          name: o.name,
          controller: o.controller,
          stateDir: o.stateDir,
          tokenFile: o.tokenFile,
          address: o.address,
          logLevel: o.logLevel,
          drainMs,
          traceSamplingPercent: sampling,
        });
      }),
    );
}
