// Makes sure bpffs is mounted at /sys/fs/bpf (it is not on every host) and loads this node's
// programs and maps into /sys/fs/bpf/ambit/<node>/ unless they are already pinned there, so a
// restarted agent reuses what the previous one left (maps keep their entries, attachments stay).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  AMBIT_PIN_PARENT,
  BPFFS_ROOT,
  mapPinDir,
  mapPinPath,
  pinRoot,
  progPinDir,
  progPinPath,
} from '../core/bpf-maps/pin-paths.js';
import { ALL_MAPS } from '../core/bpf-maps/map-codecs.js';
import { SK_LOOKUP_PROG } from '../core/bpf-maps/netns-link.js';
import { PROGRAMS, type AttachKind } from './attach-kinds.js';
import { bpftool, pinnedProgramId } from './bpftool.js';
import { agentError } from './errors.js';

const execFileAsync = promisify(execFile);

/** bpf/build/ of this checkout (the agent runs from dist/agent/ or agent/). */
export function defaultObjectDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'bpf', 'build');
    if (existsSync(path.join(dir, 'bpf', 'Makefile'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('bpf', 'build');
}

export function isBpffsMounted(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): boolean {
  return mountinfo.split('\n').some((l) => {
    const [pre, post] = l.split(' - ');
    return pre?.split(' ')[4] === BPFFS_ROOT && post?.startsWith('bpf ');
  });
}

export async function ensureBpffs(): Promise<void> {
  if (isBpffsMounted()) return;
  try {
    await execFileAsync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT]);
  } catch (err) {
    // another agent may have won the race
    if (!isBpffsMounted()) {
      throw agentError('AG_BPFFS', `cannot mount bpffs at ${BPFFS_ROOT}`, err);
    }
  }
}

/** Program ids of this node's pinned programs. */
export type ProgramIds = Record<AttachKind, number>;

/**
 * Loads and pins whatever of this node's programs and maps is missing; returns the program ids.
 * The first object pins every map (`pinmaps`); the others reuse the pinned maps by name.
 */
export async function ensureLoaded(node: string, objectDir = defaultObjectDir()): Promise<ProgramIds> {
  await ensureBpffs();
  mkdirSync(progPinDir(node), { recursive: true });
  const mapsPinned = (): boolean => ALL_MAPS.every((m) => existsSync(mapPinPath(node, m.name)));
  const ids: Partial<ProgramIds> = {};
  // Programs pinned by an older agent that lacked some of today's maps: loading the missing
  // programs would pin a second set of maps the attached programs never read, and the agent would
  // then write to those. Refuse instead of diverging silently.
  const missingMaps = ALL_MAPS.filter((m) => !existsSync(mapPinPath(node, m.name))).map((m) => m.name);
  if (
    missingMaps.length > 0 &&
    existsSync(mapPinDir(node)) &&
    PROGRAMS.some((p) => existsSync(progPinPath(node, p.kind)))
  )
    throw agentError(
      'AG_PINS_OUTDATED',
      `node ${node} is pinned by an agent without the maps ${missingMaps.join(', ')}`,
    );
  // sk_lookup is not attached to cgroups: the ztunnel links it to pod network namespaces
  // (docs/kernel.md "PERMISSIVE capture"), so it is loaded and pinned here but has no attach kind.
  const loads = [
    ...PROGRAMS.map((p) => ({ pinName: p.kind, object: p.object, loadType: p.loadType, kind: p.kind })),
    { pinName: SK_LOOKUP_PROG, object: 'sk_lookup.o', loadType: 'sk_lookup', kind: undefined },
  ];
  for (const p of loads) {
    const pin = progPinPath(node, p.pinName);
    if (!existsSync(pin)) {
      const obj = path.join(objectDir, p.object);
      if (!existsSync(obj)) {
        throw agentError('AG_NO_OBJECT', `BPF object ${obj} is missing`);
      }
      const args = ['prog', 'load', obj, pin, 'type', p.loadType];
      if (mapsPinned()) {
        for (const m of ALL_MAPS) args.push('map', 'name', m.name, 'pinned', mapPinPath(node, m.name));
      } else {
        // a crash between map and program pins leaves partial maps no program uses: start over
        rmSync(mapPinDir(node), { recursive: true, force: true });
        args.push('pinmaps', mapPinDir(node));
      }
      await bpftool(args);
    }
    if (p.kind) ids[p.kind] = await pinnedProgramId(pin);
  }
  return ids as ProgramIds;
}

/** Removes /sys/fs/bpf/ambit/<node>/ and the parent when it is empty. */
export function removePins(node: string): void {
  rmSync(pinRoot(node), { recursive: true, force: true });
  try {
    if (existsSync(AMBIT_PIN_PARENT) && readdirSync(AMBIT_PIN_PARENT).length === 0)
      rmdirSync(AMBIT_PIN_PARENT);
  } catch {
    // another node's agent created its directory meanwhile: the parent stays
  }
}
