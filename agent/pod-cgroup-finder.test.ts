// The pod cgroup derivation on recorded real layouts (test/fixtures/cgroup-layouts/): each
// listing becomes a temporary directory tree, under a unified-style root and under a hybrid-style
// one (…/unified, as on this machine); every recorded pod is found from its UID with its QoS class
// (one direct path) and without it (probed); a wrong QoS class, a changed UID or another node's
// pod finds nothing; and nothing returned is ever a container scope or another pod's directory.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { detectKubeletLayouts, findPodCgroup, type KubeletLayout } from './pod-cgroup-finder.js';
import { QOS_CLASSES, type QosClass } from './pod-cgroup-layout.js';

const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../test/fixtures/cgroup-layouts',
);

interface Layout {
  file: string;
  dirs: string[];
  pods: { qos: QosClass; uid: string; dir: string }[];
  layout: KubeletLayout;
}

function isQos(s: string | undefined): s is QosClass {
  return QOS_CLASSES.some((q) => q === s);
}

function readLayout(file: string): Layout {
  const dirs: string[] = [];
  const pods: Layout['pods'] = [];
  for (const raw of readFileSync(path.join(FIXTURES, file), 'utf8').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, qos, uid, dir] = line.split(/\s+/);
    if (word === 'expect') {
      if (!isQos(qos) || uid === undefined || dir === undefined) throw new Error(`${file}: bad line ${raw}`);
      pods.push({ qos, uid, dir });
    } else dirs.push(line);
  }
  const layout: KubeletLayout = {
    driver: file.includes('systemd') ? 'systemd' : 'cgroupfs',
    root: file.startsWith('kind-') ? ['kubelet'] : [],
  };
  return { file, dirs, pods, layout };
}

const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.txt'))
  .sort();
const layouts = files.map(readLayout);
const tmp = mkdtempSync(path.join(tmpdir(), 'ambit-cgroup-layouts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The listing as a directory tree under <tmp>/<name>/<rootSuffix>; returns that root. */
function materialise(l: Layout, rootSuffix: string): string {
  const root = path.join(tmp, l.file.replace(/\.txt$/, ''), rootSuffix);
  for (const d of l.dirs) mkdirSync(path.join(root, d), { recursive: true });
  return root;
}

/** A UID of the same shape with its last hex digit changed. */
function otherUid(uid: string): string {
  const last = uid.slice(-1);
  return uid.slice(0, -1) + (last === '0' ? '1' : '0');
}

describe('recorded layouts', () => {
  it('cover both drivers and both runtimes, each with all three QoS classes (kind: two)', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'cgroupfs-containerd.txt',
        'cgroupfs-crio.txt',
        'systemd-containerd.txt',
        'systemd-crio.txt',
      ]),
    );
    for (const l of layouts) {
      const classes = new Set(l.pods.map((p) => p.qos));
      expect(classes.size, l.file).toBe(l.file.startsWith('kind-') ? 2 : 3);
      for (const p of l.pods) expect(l.dirs, `${l.file}: ${p.dir}`).toContain(p.dir);
    }
  });
});

describe.each(layouts)('$file', (l) => {
  describe.each(['sys/fs/cgroup', 'sys/fs/cgroup/unified'])('cgroup root …/%s', (suffix) => {
    const root = materialise(l, suffix);
    const podDirs = new Set(l.pods.map((p) => p.dir));

    it('detects the kubelet cgroup driver and root from the layout', () => {
      expect(detectKubeletLayouts(root)).toEqual([l.layout]);
    });

    it.each(l.pods)('$qos pod $uid: straight to its directory with the QoS class', ({ uid, qos, dir }) => {
      expect(findPodCgroup(root, { uid, qos })).toEqual({ path: dir, how: 'direct' });
    });

    it.each(l.pods)('$qos pod $uid: probed without the QoS class', ({ uid, dir }) => {
      expect(findPodCgroup(root, { uid })).toEqual({ path: dir, how: 'probed' });
    });

    it.each(l.pods)(
      '$qos pod $uid: also found before the layout is detected (every layout probed)',
      ({ uid, qos, dir }) => {
        expect(findPodCgroup(root, { uid, qos }, [])?.path).toBe(dir);
      },
    );

    it('a wrong QoS class, a changed UID, or a pod of another node finds nothing', () => {
      for (const p of l.pods) {
        for (const q of QOS_CLASSES.filter((c) => c !== p.qos))
          expect(findPodCgroup(root, { uid: p.uid, qos: q }), `${p.uid} as ${q}`).toBeUndefined();
        expect(findPodCgroup(root, { uid: otherUid(p.uid) })).toBeUndefined();
        expect(findPodCgroup(root, { uid: p.uid.slice(0, 8) })).toBeUndefined();
      }
      const elsewhere = layouts
        .filter((o) => o !== l)
        .flatMap((o) => o.pods)
        .filter((o) => !l.pods.some((p) => p.uid === o.uid));
      for (const o of elsewhere) expect(findPodCgroup(root, { uid: o.uid })).toBeUndefined();
    });

    it('never returns a container scope, a QoS slice or another pod’s directory', () => {
      const returned = new Set<string>();
      for (const p of l.pods)
        for (const qos of [undefined, ...QOS_CLASSES]) {
          const hit = findPodCgroup(root, { uid: p.uid, qos });
          if (!hit) continue;
          returned.add(hit.path);
          expect(hit.path, `${p.uid}`).toBe(p.dir);
        }
      expect([...returned].every((r) => podDirs.has(r))).toBe(true);
      // every other directory of the listing (containers, conmon, QoS slices, system.slice) is
      // one the derivation never produced
      const containers = l.dirs.filter(
        (d) => !podDirs.has(d) && [...podDirs].some((p) => d.startsWith(p + '/')),
      );
      expect(containers.length).toBeGreaterThan(0);
      for (const c of containers) expect(returned.has(c)).toBe(false);
    });
  });
});
