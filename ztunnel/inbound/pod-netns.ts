// Finds the network namespace of a pod on this node from its cgroup, the same directory the agent
// attaches to (annotation ambit.dev/cgroup-path, else derived from the pod UID and QoS class):
// any process in that cgroup or below it lives in the pod's netns, so /proc/<pid>/ns/net names
// it. Works the same in the local cluster (a netns per pod) and under a kubelet (the sandbox's
// pause process). Reads /proc and the cgroup tree only.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Workload } from '../../core/model/mesh.js';
import { findCgroup2Root } from '../../agent/cgroup-root.js';
import { resolveCgroupPath } from '../../agent/cgroup-path.js';
import { findPodCgroup } from '../../agent/pod-cgroup-finder.js';

const MAX_DEPTH = 4;

function firstPid(dir: string, depth = 0): number | undefined {
  let procs = '';
  try {
    procs = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of procs.split('\n')) {
    const pid = Number(line);
    if (Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}/ns/net`)) return pid;
  }
  if (depth >= MAX_DEPTH) return undefined;
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return undefined;
  }
  for (const c of children) {
    const pid = firstPid(path.join(dir, c), depth + 1);
    if (pid !== undefined) return pid;
  }
  return undefined;
}

export type PodNetnsFinder = (w: Workload) => string | undefined;

/** `/proc/<pid>/ns/net` of a process of the pod, or undefined while none runs (or no cgroup). */
export function findPodNetns(w: Workload, cgroupRoot: string = findCgroup2Root()): string | undefined {
  let dir: string | undefined;
  if (w.cgroupPath) dir = resolveCgroupPath(w.cgroupPath, cgroupRoot);
  else {
    const hit = findPodCgroup(cgroupRoot, { uid: w.uid, qos: w.qosClass });
    if (hit) dir = path.join(cgroupRoot, hit.path);
  }
  if (!dir) return undefined;
  const pid = firstPid(dir);
  return pid === undefined ? undefined : `/proc/${pid}/ns/net`;
}
