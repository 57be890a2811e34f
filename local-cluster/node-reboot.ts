// A simulated node's power cut, as faithfully as one kernel shared by every simulated node allows:
// every process of the node dies at once (SIGKILL: its agent, its ztunnel, and every process of
// its pods - whatever sits in the node's or its pods' network namespaces or pod cgroups), and what
// a reboot takes from the kernel goes: our programs' attachments on the pod cgroups, the node's
// bpffs pins, the mesh address on lo. The pods' network namespaces and cgroups stay: they stand
// for the sandboxes the kubelet re-creates after boot, with the same IPs and cgroup paths (the
// same pod UIDs). Booting again is the caller's: pods through the gate (LocalCluster.startPodThroughGate),
// the agent, the ztunnel, in whatever order the scenario wants.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROGRAMS } from '../agent/attach-kinds.js';
import { pinRoot } from '../core/bpf-maps/pin-paths.js';
import { ipIn, sh } from './host.js';
import { until } from './until.js';
import type { NodePlan, PodPlan } from './topology.js';

export interface NodeToPowerOff {
  node: NodePlan;
  /** the node's pods with their absolute cgroup directories */
  pods: { plan: PodPlan; cgroup: string }[];
  meshAddress: string;
}

/** Pids in the node's netns, its pods' netns and their cgroups. */
function nodePids(n: NodeToPowerOff): number[] {
  const pids = new Set<number>();
  for (const ns of [n.node.netns, ...n.pods.map((p) => p.plan.netns)])
    for (const l of sh('ip', ['netns', 'pids', ns], { allowFail: true }).split('\n'))
      if (l.trim()) pids.add(Number(l));
  for (const p of n.pods) {
    const procs = path.join(p.cgroup, 'cgroup.procs');
    if (!existsSync(procs)) continue;
    for (const l of readFileSync(procs, 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
  }
  pids.delete(process.pid);
  return [...pids];
}

/** SIGKILLs every process of the node and waits until none is left. */
export async function killNodeProcesses(n: NodeToPowerOff): Promise<number> {
  let killed = 0;
  for (const p of n.pods) {
    try {
      writeFileSync(path.join(p.cgroup, 'cgroup.kill'), '1'); // the whole pod at once (Linux 5.14+)
    } catch {
      // an older kernel: the pid sweep below does it
    }
  }
  await until(
    'every process of the node to be gone',
    () => {
      const left = nodePids(n);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          // exited meanwhile
        }
      }
      return left.length === 0;
    },
    10_000,
    20,
  );
  return killed;
}

/** The kernel state a reboot loses: attachments on the node's pod cgroups, pins, mesh address. */
export function wipeNodeKernelState(n: NodeToPowerOff): void {
  for (const p of n.pods) {
    if (!existsSync(p.cgroup)) continue;
    const out = sh('bpftool', ['-j', 'cgroup', 'show', p.cgroup]).trim();
    for (const a of JSON.parse(out || '[]') as { id: number; attach_type: string }[]) {
      const s = PROGRAMS.find((x) =>
        [x.reportedAttachType, `cgroup_${x.reportedAttachType}`].includes(a.attach_type),
      );
      if (!s) throw new Error(`unexpected attachment ${a.attach_type} on pod ${p.plan.spec.name}`);
      sh('bpftool', ['cgroup', 'detach', p.cgroup, s.attachType, 'id', String(a.id)]);
    }
  }
  rmSync(pinRoot(n.node.name), { recursive: true, force: true });
  ipIn(n.node.netns, ['addr', 'del', `${n.meshAddress}/32`, 'dev', 'lo'], { allowFail: true });
}

/** The power cut: processes first (nothing may re-attach behind our back), then the kernel state. */
export async function powerOffNode(n: NodeToPowerOff): Promise<void> {
  await killNodeProcesses(n);
  wipeNodeKernelState(n);
}
