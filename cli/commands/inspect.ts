// `ambit status`, `ambit config dump`, `ambit describe`: ask a running controller.
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

export function registerInspect(program: Command): void {
  program
    .command('status')
    .description('config version, last rejected change, subscribers and their last ACK/NACK')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(notBuiltYet('ambit status'));
  const config = program.command('config').description('inspect the mesh configuration');
  config
    .command('dump')
    .description('print the computed mesh state (YAML, or JSON with -o json)')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: yaml or json', 'yaml')
    .action(notBuiltYet('ambit config dump'));
  program
    .command('describe <pod>')
    .description('show how the mesh sees one pod (<namespace>/<name>)')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(notBuiltYet('ambit describe'));
}
