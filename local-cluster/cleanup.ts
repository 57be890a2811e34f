// Finding and removing everything a local cluster with a given prefix made: processes (by
// netns, by cgroup, by a command line naming the prefix), network namespaces (their links go
// with them), cgroup directories, bpffs pins and temp dirs. Used by teardown, by the SIGINT/SIGTERM
// handlers and as a sweep for runs that died (`cleanupStale(prefix)`). Only ever touches names
// starting with the prefix.
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AMBIT_PIN_PARENT } from '../core/bpf-maps/pin-paths.js';
import { cgroup2Root, listNetns, sh } from './host.js';
import { signalGroup } from './processes.js';

function assertPrefix(prefix: string): void {
  if (!/^amb[a-z0-9]{4}-$/.test(prefix)) throw new Error(`refusing to sweep an unexpected prefix: ${prefix}`);
}

/** Pids whose command line mentions the prefix, or that sit in one of its cgroups or netns. */
export function ourPids(prefix: string): number[] {
  const pids = new Set<number>();
  for (const ns of listNetns().filter((n) => n.startsWith(prefix))) {
    for (const p of sh('ip', ['netns', 'pids', ns], { allowFail: true }).split('\n'))
      if (p.trim()) pids.add(Number(p));
  }
  const cgDir = path.join(cgroup2Root(), `${prefix}cluster`);
  if (existsSync(cgDir)) {
    for (const d of readdirSync(cgDir)) {
      const procs = path.join(cgDir, d, 'cgroup.procs');
      if (!existsSync(procs)) continue;
      for (const p of readFileSync(procs, 'utf8').split('\n')) if (p.trim()) pids.add(Number(p));
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(prefix)) pids.add(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  pids.delete(process.pid);
  return [...pids];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export async function killPids(pids: number[], graceMs = 1500): Promise<void> {
  for (const p of pids) signalGroup(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  for (const p of pids) if (alive(p)) signalGroup(p, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (Date.now() < hard && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
}

/** Removes cgroup directories deepest first (rmdir; they must hold no process). */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir)) {
    const child = path.join(dir, d);
    try {
      if (statSync(child).isDirectory()) removeCgroupTree(child);
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      // EBUSY right after the last process died: the kernel frees it a moment later
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

export function removePinsWithPrefix(prefix: string): void {
  if (!existsSync(AMBIT_PIN_PARENT)) return;
  for (const d of readdirSync(AMBIT_PIN_PARENT)) {
    if (d.startsWith(prefix)) rmSync(path.join(AMBIT_PIN_PARENT, d), { recursive: true, force: true });
  }
  try {
    if (readdirSync(AMBIT_PIN_PARENT).length === 0) rmdirSync(AMBIT_PIN_PARENT);
  } catch {
    // someone else's node appeared
  }
}

export async function cleanupStale(prefix: string): Promise<void> {
  assertPrefix(prefix);
  await killPids(ourPids(prefix));
  for (const ns of listNetns().filter((n) => n.startsWith(prefix)))
    sh('ip', ['netns', 'del', ns], { allowFail: true });
  removeCgroupTree(path.join(cgroup2Root(), `${prefix}cluster`));
  removePinsWithPrefix(prefix);
  for (const d of tempDirs(prefix)) rmSync(d, { recursive: true, force: true });
}

/** The run's temp dirs (config, state, mesh state file, captures): <tmpdir>/<prefix>XXXXXX. */
function tempDirs(prefix: string): string[] {
  return readdirSync(tmpdir())
    .filter((d) => d.startsWith(prefix))
    .map((d) => path.join(tmpdir(), d));
}

/** What is left of a cluster: empty when teardown was complete. */
export function leftovers(prefix: string): string[] {
  assertPrefix(prefix);
  const out: string[] = [];
  for (const ns of listNetns().filter((n) => n.startsWith(prefix))) out.push(`netns ${ns}`);
  for (const l of sh('ip', ['-o', 'link', 'show'], { allowFail: true }).split('\n')) {
    const name = l.split(':')[1]?.trim().split('@')[0];
    if (name?.startsWith(prefix)) out.push(`link ${name}`);
  }
  const cg = path.join(cgroup2Root(), `${prefix}cluster`);
  if (existsSync(cg)) out.push(`cgroup ${cg}`);
  if (existsSync(AMBIT_PIN_PARENT)) {
    for (const d of readdirSync(AMBIT_PIN_PARENT))
      if (d.startsWith(prefix)) out.push(`pin ${AMBIT_PIN_PARENT}/${d}`);
  }
  for (const p of ourPids(prefix)) if (alive(p)) out.push(`process ${p}`);
  for (const d of tempDirs(prefix)) out.push(`temp dir ${d}`);
  return out;
}
