// `ambit controller`: flags of DESIGN.md §8; starts the controller component.
import type { Command } from 'commander';
import { notBuiltYet } from '../run-action.js';

export function registerController(program: Command): void {
  program
    .command('controller')
    .description('run the controller: config store, CA and discovery over gRPC')
    .option('--config <dir>', 'embedded config store: a directory of YAML manifests')
    .option('--kubeconfig <path>', 'use a Kubernetes API server as the config store')
    .option('--listen <host:port>', 'gRPC listen address (discovery + CA, mTLS)', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'where the trust root and join token are written', '.ambit/')
    .option('--ca-cert <file>', 'operator-supplied root certificate (PEM)')
    .option('--ca-key <file>', 'operator-supplied root key (PEM)')
    .option('--trust-domain <domain>', 'SPIFFE trust domain', 'cluster.local')
    .action(notBuiltYet('ambit controller'));
}
