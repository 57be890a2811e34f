// Read-only report of what Ambit holds in the kernel per node, for `ambit bpf`: pinned programs,
// where they are attached, enrolled pods (pod policy entries), map entry counts and counters.
// Reads pins and maps only; changes nothing.
import { existsSync, readdirSync } from 'node:fs';
import { PinnedMap } from '../core/bpf-maps/pinned-map.js';
import {
  ALL_MAPS,
  CONFIG_MAP,
  COUNTER_NAMES,
  COUNTERS_MAP,
  POD_POLICY_MAP,
  type MapSpec,
} from '../core/bpf-maps/map-codecs.js';
import { AMBIT_PIN_PARENT, mapPinPath, progPinPath } from '../core/bpf-maps/pin-paths.js';
import { PROGRAMS, type AttachKind } from './attach-kinds.js';
import { bpftoolJson } from './bpftool.js';
import { findCgroup2Root } from './cgroup-root.js';
import { readAttachments } from './kernel-state.js';
import type { ProgramIds } from './bpffs.js';

export interface NodeBpfReport {
  node: string;
  programs: { kind: AttachKind; id: number; name: string; type: string; pin: string }[];
  attachments: { cgroup: string; programs: AttachKind[] }[];
  enrolledPods: { ip: string; mode: string }[];
  maps: { name: string; entries: number }[];
  counters: Record<string, string>;
  /** mesh address and capture port the programs redirect to */
  config?: { meshIp: string; capturePort: number } | undefined;
}

export function pinnedNodes(): string[] {
  if (!existsSync(AMBIT_PIN_PARENT)) return [];
  return readdirSync(AMBIT_PIN_PARENT).sort();
}

function countEntries(node: string, spec: MapSpec<unknown, unknown>): number {
  const m = new PinnedMap(spec, mapPinPath(node, spec.name));
  try {
    return m.entries().length;
  } finally {
    m.close();
  }
}

export async function inspectNode(node: string): Promise<NodeBpfReport> {
  const programs: NodeBpfReport['programs'] = [];
  const ids: Partial<ProgramIds> = {};
  for (const p of PROGRAMS) {
    const pin = progPinPath(node, p.kind);
    if (!existsSync(pin)) continue;
    const info = await bpftoolJson<{ id: number; name: string; type: string }>([
      'prog',
      'show',
      'pinned',
      pin,
    ]);
    ids[p.kind] = info.id;
    programs.push({ kind: p.kind, id: info.id, name: info.name, type: info.type, pin });
  }
  const attachments =
    programs.length === PROGRAMS.length
      ? [...(await readAttachments(findCgroup2Root(), ids as ProgramIds))].map(([cgroup, kinds]) => ({
          cgroup,
          programs: [...kinds].sort(),
        }))
      : [];
  const maps = ALL_MAPS.filter((m) => existsSync(mapPinPath(node, m.name))).map((m) => ({
    name: m.name,
    entries: countEntries(node, m),
  }));
  let enrolledPods: NodeBpfReport['enrolledPods'] = [];
  const counters: Record<string, string> = {};
  if (existsSync(mapPinPath(node, POD_POLICY_MAP.name))) {
    const pol = PinnedMap.open(node, POD_POLICY_MAP);
    enrolledPods = pol.entries().map(([ip, v]) => ({ ip, mode: v.mode }));
    pol.close();
  }
  if (existsSync(mapPinPath(node, COUNTERS_MAP.name))) {
    const c = PinnedMap.open(node, COUNTERS_MAP);
    COUNTER_NAMES.forEach((n, i) => (counters[n] = String(c.lookup(i) ?? 0n)));
    c.close();
  }
  let config: NodeBpfReport['config'];
  if (existsSync(mapPinPath(node, CONFIG_MAP.name))) {
    const c = PinnedMap.open(node, CONFIG_MAP);
    config = c.lookup(0);
    c.close();
  }
  return { node, programs, attachments, enrolledPods, maps, counters, config };
}

export function formatReport(r: NodeBpfReport): string {
  const lines = [`node ${r.node}`];
  if (r.config)
    lines.push(`  redirects to ${r.config.meshIp}:${r.config.capturePort} (mesh address : capture port)`);
  lines.push('  programs:');
  for (const p of r.programs)
    lines.push(`    ${p.kind.padEnd(15)} id ${String(p.id).padEnd(6)} ${p.type.padEnd(17)} ${p.pin}`);
  lines.push(`  attached to ${r.attachments.length} cgroup(s):`);
  for (const a of r.attachments) lines.push(`    ${a.cgroup}  [${a.programs.join(', ')}]`);
  lines.push(`  enrolled pods (${r.enrolledPods.length}):`);
  for (const p of r.enrolledPods) lines.push(`    ${p.ip.padEnd(16)} ${p.mode}`);
  lines.push('  maps:');
  for (const m of r.maps) lines.push(`    ${m.name.padEnd(22)} ${m.entries} entries`);
  lines.push(
    `  counters: ${Object.entries(r.counters)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  return lines.join('\n');
}
