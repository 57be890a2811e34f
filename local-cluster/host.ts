// Small synchronous wrappers over the host tools the local cluster drives (ip, nsenter, sysctl),
// plus where things live: the repository's dist/ and the cgroup v2 mount. Build steps are rare
// and ordered, so synchronous calls keep them simple.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './repo-root.js';

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim().split('\n').pop()}`, {
      cause: err,
    });
  }
}

export function ipIn(netns: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  return sh('ip', ['-n', netns, ...args], opts);
}

export function inNetns(netns: string, argv: string[], opts: { allowFail?: boolean } = {}): string {
  return sh('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], opts);
}

/** A compiled script of this repo: dist/<rel>.js */
export function distScript(rel: string): string {
  return path.join(repoRoot(), 'dist', `${rel}.js`);
}

export function cgroup2Root(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ')) {
      const mp = pre?.split(' ')[4];
      if (mp) return mp;
    }
  }
  throw new Error('cgroup v2 is not mounted');
}

export function listNetns(): string[] {
  return sh('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}
