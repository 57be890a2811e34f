// The restore cache file: round trip, written atomically with mode 0600 and only when the state
// changed, removed on request, and refused whole (with every reason named) when it is not JSON,
// was written for another node, or names a cgroup outside the cgroup root or a bad address.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredKernelState } from './reconcile.js';
import { RestoreCache, decodeRestoreCache, encodeRestoreCache, restoreCachePath } from './restore-cache.js';

const ROOT = '/sys/fs/cgroup';
const desired: DesiredKernelState = {
  attachments: new Map([[`${ROOT}/kubepods.slice/kubepods-pod1.slice`, 'shop/cart']]),
  podPolicy: new Map([['10.0.0.4', 'STRICT' as const]]),
  meshDst: new Map([
    ['10.0.0.4:0', 'workload' as const],
    ['10.96.0.9:80', 'service' as const],
  ]),
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ambit-restore-'));
  dirs.push(d);
  return path.join(d, 'state'); // not created yet: save() makes it
}

describe('RestoreCache', () => {
  it('saves atomically with mode 0600, loads back the same state, and skips unchanged writes', () => {
    const dir = stateDir();
    const cache = new RestoreCache(dir, 'node-1');
    expect(cache.load(ROOT)).toEqual({ kind: 'none' });
    expect(cache.save(desired)).toBe(true);
    expect(cache.file).toBe(path.join(dir, 'agent-node-1.restore.json'));
    expect(statSync(cache.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['agent-node-1.restore.json']); // no temp file left
    expect(cache.save(desired)).toBe(false);
    expect(new RestoreCache(dir, 'node-1').load(ROOT)).toEqual({ kind: 'loaded', desired });
    cache.remove();
    expect(readdirSync(dir)).toEqual([]);
    expect(cache.save(desired)).toBe(true); // removed: written again
  });

  it('keeps nodes apart and refuses a node name that is not a DNS subdomain', () => {
    const dir = stateDir();
    new RestoreCache(dir, 'node-1').save(desired);
    expect(new RestoreCache(dir, 'node-2').load(ROOT)).toEqual({ kind: 'none' });
    expect(() => restoreCachePath(dir, '../etc')).toThrow(/not a DNS subdomain/);
    expect(() => restoreCachePath(dir, 'a/b')).toThrow(/not a DNS subdomain/);
  });

  it('a cache that does not decode is refused, not half used', () => {
    const dir = stateDir();
    const cache = new RestoreCache(dir, 'node-1');
    cache.save(desired);
    writeFileSync(cache.file, '{"format":1,');
    const r = cache.load(ROOT);
    expect(r.kind).toBe('refused');
  });
});

describe('decodeRestoreCache', () => {
  const good = JSON.parse(encodeRestoreCache('n1', desired)) as Record<string, unknown>;
  it.each([
    { description: 'not JSON', text: 'nope', error: /not JSON/ },
    {
      description: 'another node',
      text: JSON.stringify(good),
      node: 'n2',
      error: /written for node n1, not n2/,
    },
    { description: 'unknown format', text: JSON.stringify({ ...good, format: 2 }), error: /format/ },
    {
      description: 'a cgroup outside the root',
      text: JSON.stringify({ ...good, attachments: [['/etc', 'x/y']] }),
      error: /\/etc is not a cgroup under/,
    },
    {
      description: 'a path that climbs out',
      text: JSON.stringify({ ...good, attachments: [[`${ROOT}/../../etc`, 'x/y']] }),
      error: /is not a cgroup under/,
    },
    {
      description: 'bad addresses, every one named',
      text: JSON.stringify({
        ...good,
        podPolicy: [['fd00::zz', 'STRICT']],
        meshDst: [['10.0.0.1:99999', 'workload']],
      }),
      error: /podPolicy: fd00::zz is not an IP address; meshDst: 10.0.0.1:99999 is not ip:port/,
    },
    {
      description: 'an unknown mode',
      text: JSON.stringify({ ...good, podPolicy: [['10.0.0.1', 'DISABLE']] }),
      error: /podPolicy/,
    },
  ])('refuses $description', ({ text, node, error }) => {
    const r = decodeRestoreCache(text, node ?? 'n1', ROOT);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });

  it('equal states encode to equal text whatever the insertion order', () => {
    const reversed: DesiredKernelState = { ...desired, meshDst: new Map([...desired.meshDst].reverse()) };
    expect(encodeRestoreCache('n1', reversed)).toBe(encodeRestoreCache('n1', desired));
  });
});
