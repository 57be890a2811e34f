// Thin typed calls to the bpftool CLI, used for the rare operations (load, pin, attach, detach,
// listing attachments); map reads and writes go through core/bpf-maps (bpf(2) via koffi).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { agentError } from './errors.js';

const execFileAsync = promisify(execFile);

export async function bpftool(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bpftool', args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; code?: string | number; message: string };
    if (e.code === 'ENOENT') {
      throw agentError('AG_NO_BPFTOOL', 'bpftool not found', err);
    }
    const detail = (e.stderr ?? e.message).trim().split('\n').pop() ?? '';
    throw agentError('AG_BPFTOOL', `bpftool ${args.join(' ')} failed: ${detail}`, err);
  }
}

export async function bpftoolJson<T>(args: string[]): Promise<T> {
  const out = await bpftool(['-j', ...args]);
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

export interface CgroupTreeEntry {
  cgroup: string;
  programs: { id: number; attach_type: string; attach_flags?: string; name: string }[];
}

/** Every cgroup under root with attached programs. */
export async function cgroupTree(root: string): Promise<CgroupTreeEntry[]> {
  return bpftoolJson<CgroupTreeEntry[]>(['cgroup', 'tree', root]);
}

export async function pinnedProgramId(pinPath: string): Promise<number> {
  const info = await bpftoolJson<{ id: number }>(['prog', 'show', 'pinned', pinPath]);
  return info.id;
}
