// Finds where cgroup v2 is mounted on this host by reading /proc/self/mountinfo: /sys/fs/cgroup on
// unified hosts, /sys/fs/cgroup/unified on hybrid ones like this machine. Read-only.
import { readFileSync } from 'node:fs';
import { agentError } from './errors.js';

export function findCgroup2Root(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    if (post.split(' ')[0] === 'cgroup2') {
      const mountPoint = pre.split(' ')[4];
      if (mountPoint) return mountPoint;
    }
  }
  throw agentError('AG_NO_CGROUP2', 'cgroup v2 is not mounted');
}
