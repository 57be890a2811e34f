// `ambit cni gate`: asks the node agent's pod start gate whether capture for a pod is in place,
// as a chained CNI plugin's ADD (or a kubelet hook) would before any container of the pod starts.
// Exit 0 when it is (or the pod is not enrolled); non-zero with a one-line cause otherwise, so
// the kubelet retries the sandbox. A top-level `cni` command, not `agent gate`: `ambit agent`'s
// own --node/--state-dir would swallow a subcommand's flags of the same name.
import type { Command } from 'commander';
import { runAction } from '../run-action.js';
import { cliError } from '../errors.js';
import { duration as durationSchema, durationToMs } from '../../core/model/resources/values.js';

function waitMs(v: string | undefined): number {
  if (v === undefined) return 0;
  const ms = durationSchema.safeParse(v).success ? durationToMs(v) : -1;
  if (ms < 0) throw cliError('CLI_BAD_FLAG', `--wait: expected a duration like 30s, 2m; got ${v}`);
  return ms;
}

export function registerCni(program: Command): void {
  const cni = program
    .command('cni')
    .description("the node's CNI side: ask the node agent before a pod's containers start");
  cni
    .command('gate')
    .description("exit 0 once the agent has this pod's capture in place (or the pod is not enrolled)")
    .requiredOption('--pod <ns/name>', 'the pod whose sandbox is being set up')
    .requiredOption('--node <name>', 'the Node the pod and the agent run on')
    .option('--state-dir <dir>', "the agent's --state-dir (holds agent-<node>.gate.sock)", '.ambit/')
    .option('--wait <duration>', 'ask again until this long has passed (default: ask once)')
    .action(
      runAction(async (o: { pod: string; node: string; stateDir: string; wait?: string }) => {
        const { isPodName, podGateSocketPath } = await import('../../agent/pod-gate-protocol.js');
        const { waitForPodGate, gateOutcome } = await import('../../agent/pod-gate-client.js');
        if (!isPodName(o.pod))
          throw cliError('CLI_BAD_FLAG', `--pod: expected <namespace>/<name>, got ${o.pod}`);
        const socket = podGateSocketPath(o.stateDir, o.node);
        const { answer, attempts } = await waitForPodGate(socket, o.pod, { waitMs: waitMs(o.wait) });
        process.stdout.write(`${gateOutcome(answer, attempts)}\n`);
      }),
    );
}
