// Turns a pod's cgroup path (annotation ambit.dev/cgroup-path, or what a Kubernetes agent
// derives from the pod UID and QoS class) into the absolute cgroup v2 directory to attach to.
// Pure. See docs/kernel.md for the systemd vs cgroupfs driver layouts.
import path from 'node:path';
import { agentError } from './errors.js';

/** Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function resolveCgroupPath(cgroupPath: string, cgroupRoot: string): string {
  // no trailing slash: bpftool reports cgroups without one and the reconciler compares strings
  const normalized = path.posix.normalize(cgroupPath).replace(/(.)\/+$/, '$1');
  if (normalized.split('/').includes('..'))
    throw agentError('AG_CGROUP_PATH', `cgroup path escapes the cgroup root: ${cgroupPath}`);
  if (
    normalized === cgroupRoot ||
    normalized.startsWith(cgroupRoot.endsWith('/') ? cgroupRoot : cgroupRoot + '/')
  ) {
    return normalized;
  }
  return path.posix.join(cgroupRoot, normalized);
}

/**
 * Where the kubelet puts a pod's cgroup on cgroup v2, relative to the cgroup root, for both
 * cgroup drivers and the three QoS classes (docs/kernel.md). Used when a pod carries no
 * ambit.dev/cgroup-path annotation: the agent takes the first candidate that exists.
 */
export function kubeletPodCgroupCandidates(podUid: string): string[] {
  if (!/^[0-9a-fA-F-]{8,64}$/.test(podUid)) return [];
  const u = podUid.replace(/-/g, '_');
  return [
    // systemd driver
    `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`,
    `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice`,
    `kubepods.slice/kubepods-pod${u}.slice`,
    // cgroupfs driver
    `kubepods/burstable/pod${podUid}`,
    `kubepods/besteffort/pod${podUid}`,
    `kubepods/pod${podUid}`,
  ];
}
