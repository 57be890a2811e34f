// `ambit waypoint`: an L7 proxy for a namespace or service that opts in.
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

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
    .action(notBuiltYet('ambit waypoint (L7 proxy, a later issue)'));
}
