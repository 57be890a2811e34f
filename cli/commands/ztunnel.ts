// `ambit ztunnel`: the node's shared L4 proxy (HBONE mTLS).
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

export function registerZtunnel(program: Command): void {
  program
    .command('ztunnel')
    .description("run the node's ztunnel: HBONE mTLS tunnels, L4 policy, TCP telemetry")
    .requiredOption('--node <name>', 'the Node this ztunnel serves')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('--address <ip>', "address to listen on (overrides the Node's InternalIP)")
    .action(notBuiltYet('ambit ztunnel'));
}
