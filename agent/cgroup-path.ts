// Turns a pod's cgroup path (annotation ambit.dev/cgroup-path, or what pod-cgroup-finder.ts found
// from the pod UID and QoS class) into the absolute cgroup v2 directory to attach to, refusing
// paths that climb out of the cgroup root. Pure.
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
