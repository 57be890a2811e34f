// `ambit bpf`: programs, attach points, enrolled pods and map entry counts of a node.
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

export function registerBpf(program: Command): void {
  program
    .command('bpf')
    .description('show pinned eBPF programs, attach points, enrolled pods and map entry counts')
    .option('--node <name>', 'node whose pins to show (default: every node under /sys/fs/bpf/ambit)')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(notBuiltYet('ambit bpf'));
}
