import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPackageRoot, repoRoot } from './repo-root.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ambit-repo-root-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('findPackageRoot', () => {
  it('returns the start directory when it holds a package.json', () => {
    const dir = path.join(tmp, 'here');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), '{}');
    expect(findPackageRoot(dir)).toBe(dir);
  });

  it('walks up to the nearest package.json', () => {
    const root = path.join(tmp, 'pkg');
    const deep = path.join(root, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(root, 'package.json'), '{}');
    expect(findPackageRoot(deep)).toBe(root);
  });

  it('throws, naming the start directory, when no directory up to / has a package.json', () => {
    // The temp dir sits outside any package; guard the premise so the test says what it relies on.
    for (let d = path.dirname(tmp); ; d = path.dirname(d)) {
      expect(existsSync(path.join(d, 'package.json')), d).toBe(false);
      if (path.dirname(d) === d) break;
    }
    const deep = path.join(tmp, 'none', 'x', 'y');
    mkdirSync(deep, { recursive: true });
    expect(() => findPackageRoot(deep)).toThrow(`no package.json found in ${deep} or any directory above it`);
  });
});

describe('repoRoot', () => {
  it('is the directory holding this repository package.json and bpf/', () => {
    const root = repoRoot();
    expect(existsSync(path.join(root, 'package.json'))).toBe(true);
    expect(existsSync(path.join(root, 'local-cluster', 'repo-root.ts'))).toBe(true);
  });
});
