// `ambit bpf`: programs, attach points, enrolled pods and map entry counts of a node.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';

export function registerBpf(program: Command): void {
  program
    .command('bpf')
    .description('show pinned eBPF programs, attach points, enrolled pods and map entry counts')
    .option('--node <name>', 'node whose pins to show (default: every node under /sys/fs/bpf/ambit)')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .action(
      runAction(async (o: { node?: string; output: string }) => {
        const { inspectNode, formatReport, pinnedNodes } = await import('../../agent/bpf-inspect.js');
        const nodes = o.node ? [o.node] : pinnedNodes();
        const reports = [];
        for (const n of nodes) reports.push(await inspectNode(n));
        if (o.output === 'json') {
          process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
        } else if (reports.length === 0) {
          process.stdout.write('no Ambit node pinned under /sys/fs/bpf/ambit\n');
        } else {
          process.stdout.write(reports.map(formatReport).join('\n\n') + '\n');
        }
      }),
    );
}
