// Agent errors (AG_*): each names what failed on the node; the table below holds the operator
// hint per code (core/errors.ts defineErrors). A reconcile that fails in several places throws
// one AG_RECONCILE aggregate carrying every failure, not one joined string.
import { AmbitError, defineErrors } from '../core/errors.js';

const HINTS = {
  AG_NO_CGROUP2: 'mount -t cgroup2 none /sys/fs/cgroup (or boot with systemd.unified_cgroup_hierarchy=1)',
  AG_BPFFS: 'run as root',
  AG_NO_OBJECT: 'run `make -C bpf`',
  AG_NO_BPFTOOL: 'apt-get install bpftool',
  AG_BPFTOOL: undefined,
  AG_NODE_SETUP: 'run as root',
  AG_CGROUP_PATH: undefined,
  AG_NO_CGROUP: 'the pod cgroup is not created yet; the next reconcile retries',
  AG_ATTACH: undefined,
  AG_DETACH: undefined,
  AG_RECONCILE: undefined,
  AG_PINS_OUTDATED:
    'run `ambit agent --node NAME --uninstall` (detaches and unpins; established connections keep flowing) and start the agent again',
  AG_RESTORE_CACHE: 'check that --state-dir is writable by the agent; a bad cache is ignored and rewritten',
  AG_GATE: "give `ambit cni gate` the agent's --state-dir and --node",
  AG_GATE_NOT_READY: 'the pod must not start yet: retry (the kubelet retries a failed CNI ADD)',
} as const;

export type AgentErrorCode = keyof typeof HINTS;

export class AgentError extends AmbitError<AgentErrorCode> {}

export const agentError = defineErrors(AgentError, HINTS);
