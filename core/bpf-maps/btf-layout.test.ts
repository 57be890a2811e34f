// Checks every TypeScript map codec against the BTF of the compiled BPF objects, member by
// member: name, byte offset and size of each struct field, the key/value type of each map, and
// that every map the objects declare has a codec. Needs clang + bpftool (not root).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALL_MAPS } from './map-codecs.js';
import type { Codec } from './struct-codec.js';
import { kernelSuiteRuns } from '../kernel-suite-gate.test-helper.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildDir = path.join(root, 'bpf', 'build');

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  vars?: { type_id: number }[];
  nr_elems?: number;
}

function haveTools(): boolean {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tools = kernelSuiteRuns('the BTF layout test', haveTools() ? [] : ['clang/bpftool']);

function objects(): string[] {
  execFileSync('make', ['-s', '-C', path.join(root, 'bpf')], { stdio: 'inherit' });
  return readdirSync(buildDir)
    .filter((f) => f.endsWith('.o'))
    .map((f) => path.join(buildDir, f));
}

function loadBtf(obj: string): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

/** Follows typedefs/const/volatile to the sized type. */
function resolve(types: Map<number, BtfType>, id: number): BtfType {
  let t = types.get(id);
  while (t && ['TYPEDEF', 'CONST', 'VOLATILE'].includes(t.kind)) t = types.get(t.type_id ?? -1);
  if (!t) throw new Error(`BTF type ${id} missing`);
  return t;
}

/** `struct x` / `__u32` name of a type id, without resolving typedefs. */
function cTypeName(types: Map<number, BtfType>, id: number): string {
  const t = types.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  return t.kind === 'STRUCT' ? `struct ${t.name}` : t.name;
}

function checkCodec(types: Map<number, BtfType>, typeId: number, codec: Codec<unknown>): void {
  expect(cTypeName(types, typeId)).toBe(codec.cType);
  const t = resolve(types, typeId);
  expect(t.size, `${codec.cType} size`).toBe(codec.size);
  if (t.kind !== 'STRUCT') {
    expect(codec.fields).toEqual([]);
    return;
  }
  const sizeOf = (id: number): number | undefined => {
    const r = resolve(types, id);
    // an array member (`__u32 ip[4]`): element size times count
    return r.kind === 'ARRAY' ? (r.nr_elems ?? 0) * (sizeOf(r.type_id ?? -1) ?? 0) : r.size;
  };
  const members = (t.members ?? []).map((m) => ({
    cName: m.name,
    offset: m.bits_offset / 8,
    size: sizeOf(m.type_id),
  }));
  expect(codec.fields.map((f) => ({ cName: f.cName, offset: f.offset, size: f.size }))).toEqual(members);
}

describe.skipIf(!tools)('map codecs match the BTF of bpf/build/*.o', () => {
  const objs = tools ? objects() : [];

  it('finds the objects', () => {
    expect(objs.map((o) => path.basename(o)).sort()).toEqual(
      expect.arrayContaining(['connect4.o', 'connect6.o', 'sockops.o', 'strict_ingress.o']),
    );
  });

  for (const obj of objs) {
    it(`${path.basename(obj)}: every map has a codec with the same key/value layout`, () => {
      const types = loadBtf(obj);
      const maps = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.maps');
      expect(maps).toBeDefined();
      const declared: string[] = [];
      for (const v of maps?.vars ?? []) {
        const variable = types.get(v.type_id);
        if (!variable) throw new Error('dangling VAR');
        declared.push(variable.name);
        const spec = ALL_MAPS.find((m) => m.name === variable.name);
        expect(spec, `codec for map ${variable.name}`).toBeDefined();
        if (!spec) continue;
        const def = resolve(types, variable.type_id ?? -1);
        const member = (name: string): number => {
          const m = def.members?.find((x) => x.name === name);
          if (!m) throw new Error(`map ${variable.name} has no ${name}`);
          const ptr = types.get(m.type_id);
          if (ptr?.kind !== 'PTR' || ptr.type_id === undefined) throw new Error(`${name} is not a pointer`);
          return ptr.type_id;
        };
        checkCodec(types, member('key'), spec.key);
        checkCodec(types, member('value'), spec.value);
      }
      expect(declared.sort()).toEqual(ALL_MAPS.map((m) => m.name).sort());
    });
  }
});
