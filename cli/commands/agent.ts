// `ambit agent`: the per-node agent that loads the eBPF programs and enrolls pods.
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description("run the node agent: load and pin the eBPF programs, enroll this node's pods")
    .requiredOption('--node <name>', 'the Node this agent runs on')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .action(notBuiltYet('ambit agent'));
}
