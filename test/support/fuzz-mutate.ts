// Near-valid inputs for the fuzz suites (issue 11 item 3): fast-check arbitraries that take a
// valid JSON-shaped value (a manifest, a discovery record) and break it the ways real inputs
// break - a field dropped, a wrong type, a huge or unicode string, deep nesting, bad ports, IPs
// and CIDRs, an unknown key - plus fuzzAssert(), which runs a property on a fixed seed and
// prints how many inputs it tried. Knows nothing about Ambit's schemas.
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Strings that are near a valid address, port, CIDR, name or duration, or hostile outright. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\t\n\r',
  '💥',
  'ü.example',
  'A'.repeat(4096),
  '-1',
  '0',
  '65535',
  '65536',
  '99999999999999999999',
  '1e309',
  'NaN',
  '0x1f',
  '10.0.0.1',
  '999.1.1.1',
  '10.0.0',
  '10.0.0.1.5',
  '10.0.0.0/8',
  '10.0.0.0/33',
  '10.0.0.0/-1',
  '10.0.0.0/',
  '/8',
  '::1',
  '[::1]',
  'fe80::1%eth0',
  '::ffff:10.0.0.1',
  '1:2:3:4:5:6:7:8:9',
  '127.0.0.1:80',
  '[::1]:80',
  'spiffe://cluster.local/ns/a/sa/b',
  'spiffe://',
  'ns/../../etc',
  '*',
  '**',
  '1s',
  '-5s',
  '1h2m',
  '99999999h',
  'Upper_Case',
  'a'.repeat(254),
  '%zz',
  '${HOME}',
  '<script>',
  '"quoted"',
  'a,b;c=d',
  '\ud800',
];

/** A value of any JSON type, biased to the edges: hostile strings, boundary numbers, empties. */
export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Json>(
      0,
      -1,
      1,
      65535,
      65536,
      -65536,
      2 ** 31,
      2 ** 53 + 2,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      0.5,
      1e-300,
    ),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom<Json>([], {}, [null], { '': '' }, ['a', 1, true]) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 200 }).map(deepNesting) },
);

/** `[[[...]]]` or `{a:{a:...}}` `depth` levels deep. */
export function deepNesting(depth: number): Json {
  let v: Json = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

type Path = (string | number)[];

/** Every path in a value (the root excluded), inner nodes and leaves, in a stable order. */
export function pathsOf(v: Json, at: Path = [], out: Path[] = []): Path[] {
  const children: [string | number, Json][] = Array.isArray(v)
    ? v.map((c, i): [number, Json] => [i, c])
    : v !== null && typeof v === 'object'
      ? Object.entries(v)
      : [];
  for (const [k, c] of children) {
    out.push([...at, k]);
    pathsOf(c, [...at, k], out);
  }
  return out;
}

export type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'replace'; at: number; value: Json }
  | { op: 'add-key'; at: number; key: string; value: Json }
  | { op: 'wrap'; at: number }
  | { op: 'duplicate'; at: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  },
  fc.record({
    op: fc.constant('add-key' as const),
    at: fc.nat(),
    key: fc.oneof(
      fc.constantFrom('unknownField', '__proto__', 'constructor', ''),
      fc.string({ maxLength: 8 }),
    ),
    value: hostileValue,
  }),
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
);

function clone(v: Json): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

function parentAndKey(root: Json, path: Path): { parent: Json; key: string | number } | undefined {
  let node: Json = root;
  for (const p of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    const next: Json | undefined = Array.isArray(node)
      ? typeof p === 'number'
        ? node[p]
        : undefined
      : (node as Record<string, Json>)[String(p)];
    if (next === undefined) return undefined;
    node = next;
  }
  const key = path[path.length - 1];
  return key === undefined ? undefined : { parent: node, key };
}

/** Applies `m` to a copy of `v` (a path index past the end wraps around). */
export function applyMutation(v: Json, m: Mutation): Json {
  const out = clone(v);
  const paths = pathsOf(out);
  if (paths.length === 0) return m.op === 'replace' ? m.value : out;
  const path = paths[m.at % paths.length] ?? [];
  const pk = parentAndKey(out, path);
  if (!pk || pk.parent === null || typeof pk.parent !== 'object') return out;
  const { parent, key } = pk;
  const get = (): Json | undefined =>
    Array.isArray(parent) ? parent[key as number] : (parent as Record<string, Json>)[String(key)];
  const set = (x: Json): void => {
    if (Array.isArray(parent)) parent[key as number] = x;
    else
      Object.defineProperty(parent, String(key), {
        value: x,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  };
  const current = get();
  switch (m.op) {
    case 'drop':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[String(key)];
      return out;
    case 'replace':
      set(m.value);
      return out;
    case 'add-key': {
      const target =
        current !== null && typeof current === 'object' && !Array.isArray(current) ? current : parent;
      if (!Array.isArray(target))
        Object.defineProperty(target, m.key, {
          value: m.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    case 'wrap':
      if (current !== undefined) set([current]);
      return out;
    case 'duplicate':
      if (Array.isArray(parent) && current !== undefined) parent.push(clone(current));
      return out;
    default: {
      const never: never = m;
      throw new Error(`unknown mutation ${JSON.stringify(never)}`);
    }
  }
}

/** One to `max` mutations of `valid`, applied in turn. */
export function mutated(valid: Json, max = 3): fc.Arbitrary<{ value: Json; mutations: Mutation[] }> {
  return fc
    .array(mutation, { minLength: 1, maxLength: max })
    .map((mutations) => ({ value: mutations.reduce(applyMutation, valid), mutations }));
}

/** Runs a property on a fixed seed, counts the inputs it tried and prints the count. */
export function fuzzAssert<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  check: (input: T) => void,
  o: { seed: number; numRuns: number },
): number {
  let tried = 0;
  fc.assert(
    fc.property(arb, (input) => {
      tried++;
      check(input);
    }),
    { seed: o.seed, numRuns: o.numRuns },
  );
  console.log(`[fuzz] ${name}: ${tried} inputs (seed ${o.seed})`);
  return tried;
}

/** fuzzAssert for checks that use sockets or timers (no shrinking: each input costs real I/O). */
export async function fuzzAssertAsync<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  check: (input: T) => Promise<void>,
  o: { seed: number; numRuns: number },
): Promise<number> {
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (input) => {
      tried++;
      await check(input);
    }),
    { seed: o.seed, numRuns: o.numRuns, endOnFailure: true },
  );
  console.log(`[fuzz] ${name}: ${tried} inputs (seed ${o.seed})`);
  return tried;
}
