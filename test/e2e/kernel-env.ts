// When the kernel e2e suites may run: as root with bpftool, clang, cgroup v2 and the BPF
// objects. They skip only when not root AND CI is unset or empty; with CI set to anything a
// missing capability fails the suite instead of skipping it (core/kernel-suite-gate.test-helper.ts).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { kernelSuiteRuns } from '../../core/kernel-suite-gate.test-helper.js';
import { preflight } from '../../local-cluster/preflight.js';
import { repoRoot as findRepoRoot } from '../../local-cluster/repo-root.js';

export const repoRoot = findRepoRoot();

export function kernelTestsEnabled(): boolean {
  if (!kernelSuiteRuns('the kernel e2e tests', process.getuid?.() === 0 ? [] : ['root'])) return false;
  // root: everything else missing is a failure, not a skip. make first (not only when objects are
  // missing, as preflight does) so that changed BPF sources are rebuilt before the suites load them.
  execFileSync('make', ['-s', '-C', path.join(repoRoot, 'bpf')], { stdio: 'inherit' });
  preflight();
  return true;
}

export { until } from '../support/until.js';
