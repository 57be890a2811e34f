// Checks that this machine can host a local cluster before anything is created: root, cgroup v2,
// the bpf(2) syscall, bpftool and the compiled BPF objects (built with make if clang is there).
// Each failure is one LocalClusterError with a stable code and a hint (errors.ts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { clusterError } from './errors.js';
import { probeBpfSyscall } from '../core/bpf-maps/bpf-syscall.js';
import { cgroup2Root } from './host.js';
import { repoRoot } from './repo-root.js';

export function preflight(): void {
  if (process.getuid?.() !== 0) {
    throw clusterError('LC_NOT_ROOT', 'the local cluster needs root (network namespaces, cgroups, eBPF)');
  }
  try {
    cgroup2Root();
  } catch (err) {
    throw clusterError('LC_NO_CGROUP2', 'cgroup v2 is not mounted', err);
  }
  const bpf = probeBpfSyscall();
  if (!bpf.ok) {
    throw clusterError('LC_NO_BPF', `this kernel refuses bpf(2): ${bpf.errno}`);
  }
  for (const tool of ['bpftool', 'ip', 'nsenter']) {
    try {
      execFileSync(tool, tool === 'ip' ? ['-V'] : ['--version'], { stdio: 'ignore' });
    } catch {
      throw clusterError('LC_NO_TOOL', `${tool} is not installed`);
    }
  }
  const bpfDir = path.join(repoRoot(), 'bpf');
  const objects = ['connect4.o', 'connect6.o', 'sockops.o', 'strict_ingress.o'].map((o) =>
    path.join(bpfDir, 'build', o),
  );
  if (!objects.every((o) => existsSync(o))) {
    try {
      execFileSync('make', ['-s', '-C', bpfDir], { stdio: 'ignore' });
    } catch {
      throw clusterError('LC_NO_BPF_OBJECTS', 'the BPF objects are not built and `make -C bpf` failed');
    }
  }
}
