// Turns a pod's cgroup path (annotation ambit.dev/cgroup-path, or what a Kubernetes agent
// derives from the pod UID and QoS class) into the absolute cgroup v2 directory to attach to.
// Pure. See docs/kernel.md for the systemd vs cgroupfs driver layouts.
import path from 'node:path';

/** Where cgroup v2 is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
export function resolveCgroupPath(cgroupPath: string, cgroupRoot: string): string {
  // no trailing slash: bpftool reports cgroups without one and the reconciler compares strings
  const normalized = path.posix.normalize(cgroupPath).replace(/(.)\/+$/, '$1');
  if (normalized.split('/').includes('..'))
    throw new Error(`cgroup path escapes the cgroup root: ${cgroupPath}`);
  if (
    normalized === cgroupRoot ||
    normalized.startsWith(cgroupRoot.endsWith('/') ? cgroupRoot : cgroupRoot + '/')
  ) {
    return normalized;
  }
  return path.posix.join(cgroupRoot, normalized);
}
