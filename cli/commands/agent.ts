// `ambit agent`: the per-node agent that loads the eBPF programs and enrolls pods.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';
import { cliError } from '../errors.js';
import { DEFAULT_MESH_ADDRESS } from '../../core/bpf-maps/mesh-address.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description("run the node agent: load and pin the eBPF programs, enroll this node's pods")
    .requiredOption('--node <name>', 'the Node this agent runs on')
    .option('--controller <host:port>', 'controller address', '127.0.0.1:15010')
    .option('--state-dir <dir>', 'directory holding the trust root and join token', '.ambit/')
    .option(
      '--token-file <file>',
      "this node's scoped bootstrap token (`ambit token create --node NAME`); default: the state dir's join-token",
    )
    .option('--mesh-address <ip>', "the node ztunnel's capture and source address", DEFAULT_MESH_ADDRESS)
    .option(
      '--state-file <path>',
      'read the mesh state from this JSON file instead of the controller (debugging)',
    )
    .option(
      '--bpf-objects <dir>',
      'directory of the compiled BPF objects (default: bpf/build of this checkout)',
    )
    .option('--resync <ms>', 're-reconcile the last state this often to heal drift (0: never)', '10000')
    .option('--uninstall', "detach this node's programs, remove its pins and mesh address, then exit")
    .action(
      runAction(
        async (o: {
          node: string;
          controller: string;
          stateDir: string;
          tokenFile?: string;
          meshAddress: string;
          stateFile?: string;
          bpfObjects?: string;
          uninstall?: boolean;
          resync: string;
        }) => {
          const resyncMs = Number(o.resync);
          if (!Number.isInteger(resyncMs) || resyncMs < 0)
            throw cliError('CLI_BAD_FLAG', `--resync: not a number of ms: ${o.resync}`);
          const { runAgent } = await import('../../agent/run-agent.js');
          await runAgent({ ...o, resyncMs });
        },
      ),
    );
}
