import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryConfigStore } from './directory-config-store.js';
import type { ConfigSnapshot } from './config-store.js';

const sa = (name: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${name}}\n`;

function atomicWrite(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function nextSnapshot(
  store: DirectoryConfigStore,
  pred: (s: ConfigSnapshot) => boolean,
): Promise<ConfigSnapshot> {
  return new Promise((resolve) => {
    const off = store.subscribe((s) => {
      if (pred(s)) {
        off();
        resolve(s);
      }
    });
  });
}

describe('DirectoryConfigStore', () => {
  const dirs: string[] = [];
  const stores: DirectoryConfigStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const make = async (files: Record<string, string>) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ambit-store-'));
    dirs.push(dir);
    for (const [f, t] of Object.entries(files)) atomicWrite(path.join(dir, f), t);
    const store = new DirectoryConfigStore(dir, pino({ level: 'silent' }));
    stores.push(store);
    await store.start();
    return { dir, store };
  };
  const names = (s: ConfigSnapshot) => s.resources.ServiceAccount.map((x) => x.metadata.name).sort();

  it('reads *.yaml and *.yml recursively, multi-document, ignoring other and hidden files', async () => {
    const { store } = await make({
      'a.yaml': sa('a') + '---\n' + sa('b'),
      'sub/deeper/c.yml': sa('c'),
      'notes.txt': 'not yaml',
      '.hidden.yaml': sa('h'),
    });
    expect(names(store.get())).toEqual(['a', 'b', 'c']);
    expect(store.status().lastRejected).toBeUndefined();
  });

  it('sees repeated atomic saves (temp file + rename) in the root and in subdirectories', async () => {
    const { dir, store } = await make({ 'a.yaml': sa('a'), 'sub/b.yaml': sa('b') });
    for (const [file, name] of [
      ['a.yaml', 'a2'],
      ['sub/b.yaml', 'b2'],
      ['a.yaml', 'a3'],
      ['sub/b.yaml', 'b3'],
      ['sub/new/c.yaml', 'c'],
    ] as const) {
      const seen = nextSnapshot(store, (s) => names(s).includes(name));
      atomicWrite(path.join(dir, file), sa(name));
      await seen;
    }
    expect(names(store.get())).toEqual(['a3', 'b3', 'c']);
  });

  it('rejects an invalid change whole and keeps the last good snapshot, then accepts a fix', async () => {
    const { dir, store } = await make({ 'a.yaml': sa('a') });
    const good = store.get();
    const rejected = new Promise<void>((resolve) => {
      const off = store.subscribe(() => {
        if (store.status().lastRejected) {
          off();
          resolve();
        }
      });
    });
    atomicWrite(path.join(dir, 'b.yaml'), sa('b') + '---\napiVersion: v1\nkind: Nope\nmetadata: {name: x}\n');
    await rejected;
    expect(store.get()).toBe(good);
    expect(store.status().lastRejected!.errors[0]).toMatchObject({
      file: 'b.yaml',
      document: 2,
      field: 'kind',
    });
    const fixed = nextSnapshot(store, (s) => names(s).includes('b'));
    atomicWrite(path.join(dir, 'b.yaml'), sa('b'));
    expect(names(await fixed)).toEqual(['a', 'b']);
    expect(store.status().lastRejected).toBeUndefined();
    expect(store.get().generation).toBe(good.generation + 1);
  });

  it('starts with an empty config plus the rejection when the first load is invalid', async () => {
    const { store } = await make({ 'a.yaml': 'kind: [\n' });
    expect(store.get().resources.ServiceAccount).toEqual([]);
    expect(store.status().lastRejected?.errors[0]?.message).toMatch(/^YAML syntax error/);
  });

  it('fails clearly when the directory does not exist', async () => {
    const store = new DirectoryConfigStore('/nonexistent/ambit-config', pino({ level: 'silent' }));
    await expect(store.start()).rejects.toMatchObject({ code: 'CTL_CONFIG_DIR' });
  });
});
