// `ambit demo`: a local cluster of network namespaces running the mesh, with sample traffic.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build a local 2-node cluster in network namespaces, send mesh traffic, tear it down')
    .option('--keep', 'leave the cluster running and print how to reach it')
    .action(
      runAction(async (o: { keep?: boolean }) => {
        const { runDemo } = await import('../../local-cluster/demo.js');
        await runDemo({ keep: o.keep });
      }),
    );
}
