// Fuzzing the config YAML (issue 11 item 3): mutated manifests and mangled YAML text through
// validateConfig, and through the embedded directory store on a real directory. The invariant:
// no throw, a rejection names the file (and the resource and field where there is one), an
// accepted set goes through the controller's next steps (mesh state, discovery records the
// subscribers' decoders accept), and the store keeps its last good snapshot and generation.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfigError, type ConfigError } from '../../core/model/config-error.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { validateConfig, type ConfigValidation } from '../../core/model/validate-config.js';
import { encodeMeshState, splitViewKey, isMeshResourceType } from '../../core/discovery/mesh-resources.js';
import { decodeRecord } from '../../core/discovery/record-decoders.js';
import { DirectoryConfigStore } from '../../controller/directory-config-store.js';
import type { ConfigSnapshot } from '../../controller/config-store.js';
import { fuzzAssert, fuzzAssertAsync, HOSTILE_STRINGS, mutated, type Json } from '../support/fuzz-mutate.js';
import {
  aliasBomb,
  DUPLICATE_KEY_DOC,
  VALID_MANIFESTS_YAML,
  validManifests,
} from '../support/fuzz-config-corpus.js';
import { until } from '../support/until.js';

const FILE = 'mesh.yaml';
const CORPUS = validManifests();

/** Errors are located and readable: the file, a document index, a message; resource names its kind. */
function expectClearErrors(errors: ConfigError[], files: readonly string[]): void {
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) {
    expect(files).toContain(e.file);
    expect(e.document).toBeGreaterThanOrEqual(0);
    expect(typeof e.message).toBe('string');
    expect(e.message.trim()).not.toBe('');
    // `Kind ns/name` (or `Kind <unnamed>`); the kind is echoed as written, so only the space is sure
    if (e.resource !== '') expect(e.resource).toContain(' ');
    expect(formatConfigError(e).startsWith(e.file)).toBe(true);
  }
}

/** An accepted set must survive what the controller does next, and every record it would push must decode. */
function expectPushable(r: Extract<ConfigValidation, { valid: true }>): void {
  const state = computeMeshState(r.result, 'cluster.local');
  const { view } = encodeMeshState(state);
  for (const [k, json] of view) {
    const { type, key } = splitViewKey(k);
    expect(isMeshResourceType(type)).toBe(true);
    if (!isMeshResourceType(type)) continue;
    const d = decodeRecord(type, key, json);
    expect(d.valid ? [] : d.errors).toEqual([]);
  }
}

function checkText(text: string): void {
  const r = validateConfig([{ path: FILE, text }]);
  if (r.valid) expectPushable(r);
  else expectClearErrors(r.errors, [FILE]);
}

const isKind = (d: Json, kind: string): boolean =>
  d !== null && typeof d === 'object' && !Array.isArray(d) && d.kind === kind;

const asYaml = (docs: Json[], flow: boolean): string =>
  docs.map((d) => stringify(d, flow ? { collectionStyle: 'flow' } : {})).join('---\n');

/** The corpus with one document mutated, written as block or flow YAML. */
const mutatedManifests = fc.tuple(fc.nat({ max: CORPUS.length - 1 }), fc.boolean()).chain(([i, flow]) =>
  mutated(CORPUS[i] ?? null).map(({ value }) => {
    const docs = CORPUS.slice();
    docs[i] = value;
    return { index: i, text: asYaml(docs, flow) };
  }),
);

/** Text-level damage: a cut, an insertion, a deleted span, a tab, a duplicate key, an alias bomb. */
const mangledText: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: VALID_MANIFESTS_YAML.length }).map((n) => VALID_MANIFESTS_YAML.slice(0, n)),
  fc
    .tuple(
      fc.nat({ max: VALID_MANIFESTS_YAML.length }),
      fc.oneof(
        fc.constantFrom(
          ...HOSTILE_STRINGS,
          '\t',
          ':',
          '- ',
          '{',
          ']',
          '&a',
          '*a',
          '!!binary',
          '? ',
          '|',
          '%YAML 9.9\n',
        ),
        fc.string({ unit: 'grapheme', maxLength: 12 }),
      ),
    )
    .map(([at, s]) => VALID_MANIFESTS_YAML.slice(0, at) + s + VALID_MANIFESTS_YAML.slice(at)),
  fc
    .tuple(fc.nat({ max: VALID_MANIFESTS_YAML.length }), fc.integer({ min: 1, max: 40 }))
    .map(([at, n]) => VALID_MANIFESTS_YAML.slice(0, at) + VALID_MANIFESTS_YAML.slice(at + n)),
  fc.constant(VALID_MANIFESTS_YAML + '---\n' + DUPLICATE_KEY_DOC),
  fc
    .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 10 }))
    .map(([d, w]) => VALID_MANIFESTS_YAML + '---\n' + aliasBomb(d, w)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.integer({ min: 50, max: 400 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}\n`),
  fc.integer({ min: 50, max: 400 }).map((d) => `${'{a: '.repeat(d)}1${'}'.repeat(d)}\n`),
);

describe('fuzz: config YAML through validateConfig', () => {
  it('the corpus itself is valid and pushable', () => {
    const r = validateConfig([{ path: FILE, text: VALID_MANIFESTS_YAML }]);
    expect(r.valid ? [] : r.errors.map(formatConfigError)).toEqual([]);
    if (r.valid) expectPushable(r);
  });

  it('mutated manifests: no throw, every error located, accepted sets pushable', () => {
    fuzzAssert(
      'config: mutated manifests (validateConfig)',
      mutatedManifests,
      ({ text }) => checkText(text),
      {
        seed: 0x11c0f1,
        numRuns: 700,
      },
    );
  });

  it('mangled YAML text: no throw, every error located', () => {
    fuzzAssert('config: mangled YAML text (validateConfig)', mangledText, (text) => checkText(text), {
      seed: 0x11c0f2,
      numRuns: 500,
    });
  });

  it('a YAML alias bomb is a ConfigError naming the file, not a thrown ReferenceError', () => {
    const r = validateConfig([{ path: FILE, text: aliasBomb(3, 5) }]);
    expect(r.valid).toBe(false);
    if (!r.valid) expect(r.errors[0]).toMatchObject({ file: FILE, message: expect.stringMatching(/alias/i) });
  });
});

describe('fuzz: config YAML through the directory store', () => {
  let dir: string;
  let store: DirectoryConfigStore;
  const file = () => path.join(dir, 'fuzz.yaml');
  const write = (text: string) => {
    const tmp = path.join(dir, '.fuzz.yaml.tmp');
    writeFileSync(tmp, text);
    renameSync(tmp, file());
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ambit-fuzz-config-'));
    writeFileSync(path.join(dir, 'base.yaml'), VALID_MANIFESTS_YAML);
    store = new DirectoryConfigStore(dir, pino({ level: 'silent' }));
    await store.start();
  });
  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a first config with an alias bomb starts the store with lastRejected', async () => {
    const bombDir = mkdtempSync(path.join(tmpdir(), 'ambit-fuzz-bomb-'));
    const bombStore = new DirectoryConfigStore(bombDir, pino({ level: 'silent' }));
    try {
      writeFileSync(path.join(bombDir, 'bomb.yaml'), aliasBomb(3, 5));
      await bombStore.start();
      expect(bombStore.status().lastRejected?.errors[0]?.file).toBe('bomb.yaml');
    } finally {
      await bombStore.close();
      rmSync(bombDir, { recursive: true, force: true });
    }
  });

  /** Writes fuzz.yaml and waits for the store's verdict on it (every load notifies subscribers). */
  async function load(text: string): Promise<ConfigSnapshot> {
    let seen: ConfigSnapshot | undefined;
    const off = store.subscribe((s) => (seen = s));
    try {
      write(text);
      return await until('the store to load fuzz.yaml', () => seen);
    } finally {
      off();
    }
  }

  it('keeps the last good snapshot and generation for every rejected file', async () => {
    expect(store.get().generation).toBe(1);
    // fuzz.yaml holds extra documents next to the good base: the corpus moved into namespace
    // `fuzz` (the cluster-scoped Node left out, it is in base.yaml), one document mutated, or
    // the text mangled
    const renamed = CORPUS.filter((d) => !isKind(d, 'Node')).map(
      (d) => JSON.parse(JSON.stringify(d).replaceAll('"shop"', '"fuzz"')) as Json,
    );
    const input = fc.oneof(
      fc.tuple(fc.nat({ max: renamed.length - 1 }), fc.boolean()).chain(([i, flow]) =>
        mutated(renamed[i] ?? null).map(({ value }) => {
          const docs = renamed.slice();
          docs[i] = value;
          return asYaml(docs, flow);
        }),
      ),
      mangledText,
    );
    let accepted = 0;
    let rejected = 0;
    await fuzzAssertAsync(
      'config: files through DirectoryConfigStore',
      input,
      async (text) => {
        const before = store.get();
        const after = await load(text);
        const status = store.status();
        if (status.lastRejected) {
          rejected++;
          expect(after).toBe(before);
          expect(store.get().generation).toBe(before.generation);
          expectClearErrors(status.lastRejected.errors, ['fuzz.yaml', 'base.yaml']);
        } else {
          accepted++;
          expect(after.generation).toBe(before.generation + 1);
        }
      },
      { seed: 0x11c0f3, numRuns: 60 },
    );
    console.log(`[fuzz] config store: ${rejected} rejected, ${accepted} accepted`);
    expect(rejected).toBeGreaterThan(0);
  });
});
