// The koffi bpf(2) wrapper against real kernel maps (root): typed update/lookup/entries/delete
// through the codecs, the ztunnel's original-destination lookup on a pinned map, and the error
// for a node nothing is pinned for. Skips only when not root and CI is unset or empty.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESH_DST_MAP, ORIG_BY_TUPLE_MAP } from './map-codecs.js';
import { openOriginalDestinationMap } from './original-destination.js';
import { mapPinDir, mapPinPath, pinRoot, AMBIT_PIN_PARENT } from './pin-paths.js';
import { PinnedMap } from './pinned-map.js';
import { probeBpfSyscall } from './bpf-syscall.js';
import { kernelSuiteRuns } from '../kernel-suite-gate.test-helper.js';

const isRoot = kernelSuiteRuns('the bpf map tests', process.getuid?.() === 0 ? [] : ['root']);

const node = `amb${randomBytes(2).toString('hex')}-unit`;

function bpffsMounted(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' - ')[0]?.split(' ')[4] === '/sys/fs/bpf' && l.split(' - ')[1]?.startsWith('bpf '));
}

describe.skipIf(!isRoot)('pinned maps through koffi (kernel)', () => {
  beforeAll(() => {
    if (!bpffsMounted()) execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
    mkdirSync(mapPinDir(node), { recursive: true });
    for (const [spec, type] of [
      [ORIG_BY_TUPLE_MAP, 'lru_hash'],
      [MESH_DST_MAP, 'hash'],
    ] as const) {
      execFileSync('bpftool', [
        'map',
        'create',
        mapPinPath(node, spec.name),
        'type',
        type,
        'key',
        String(spec.key.size),
        'value',
        String(spec.value.size),
        'entries',
        '64',
        'name',
        spec.name.slice(0, 15),
      ]);
    }
  });

  afterAll(() => {
    rmSync(pinRoot(node), { recursive: true, force: true });
    if (existsSync(AMBIT_PIN_PARENT) && readdirSync(AMBIT_PIN_PARENT).length === 0)
      rmdirSync(AMBIT_PIN_PARENT);
  });

  it('bpf(2) is usable', () => {
    expect(probeBpfSyscall()).toEqual({ ok: true });
  });

  it('update, lookup, entries, delete with the codecs', () => {
    const m = PinnedMap.open(node, MESH_DST_MAP);
    try {
      m.update({ ip: '10.20.1.11', port: 0 }, { kind: 'workload' });
      m.update({ ip: '10.96.0.10', port: 80 }, { kind: 'service' });
      expect(m.lookup({ ip: '10.96.0.10', port: 80 })).toEqual({ kind: 'service' });
      expect(m.lookup({ ip: '10.96.0.10', port: 81 })).toBeUndefined();
      expect(m.entries().sort((a, b) => a[0].ip.localeCompare(b[0].ip))).toEqual([
        [{ ip: '10.20.1.11', port: 0 }, { kind: 'workload' }],
        [{ ip: '10.96.0.10', port: 80 }, { kind: 'service' }],
      ]);
      expect(m.delete({ ip: '10.20.1.11', port: 0 })).toBe(true);
      expect(m.delete({ ip: '10.20.1.11', port: 0 })).toBe(false);
      expect(m.entries()).toHaveLength(1);
    } finally {
      m.close();
    }
    // what the kernel stored is what the C struct says: port in network order at offset 4
    const dump = JSON.parse(
      execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', mapPinPath(node, MESH_DST_MAP.name)], {
        encoding: 'utf8',
      }),
    ) as { key: string[] }[];
    expect(dump[0]?.key.map((b) => Number(b))).toEqual([10, 96, 0, 10, 0, 80, 0, 0]);
  });

  it('openOriginalDestinationMap looks up by source ip:port (IPv4-mapped accepted)', () => {
    const w = PinnedMap.open(node, ORIG_BY_TUPLE_MAP);
    w.update({ srcIp: '10.20.1.11', srcPort: 40000 }, { ip: '10.20.2.12', port: 9000 });
    w.close();
    const od = openOriginalDestinationMap(node);
    try {
      expect(od.lookup('10.20.1.11', 40000)).toEqual({ ip: '10.20.2.12', port: 9000 });
      expect(od.lookup('::ffff:10.20.1.11', 40000)).toEqual({ ip: '10.20.2.12', port: 9000 });
      expect(od.lookup('10.20.1.11', 40001)).toBeUndefined();
    } finally {
      od.close();
    }
  });

  it('a node with nothing pinned fails with BPF_NOT_PINNED and a hint', () => {
    expect(() => openOriginalDestinationMap('amb0000-nothing')).toThrow(
      expect.objectContaining({ code: 'BPF_NOT_PINNED' }),
    );
  });
});
