import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { KubeApiError, type KubeApi, type KubeRequest, type KubeStream } from './kube-api.js';
import { KUBE_MAX_DEBOUNCE_MS, KubeConfigStore } from './kube-config-store.js';
import { collectionPath, WATCHED_KINDS } from './watched-kinds.js';

/** A KubeApi serving a fixed list per collection path and one open watch stream per path. */
class PathsApi implements KubeApi {
  readonly server = 'http://paths';
  readonly items = new Map<string, unknown[]>();
  readonly failures = new Map<string, KubeApiError>();
  readonly streams = new Map<string, PassThrough>();

  request<T>(req: KubeRequest): Promise<T> {
    const f = this.failures.get(req.path);
    if (f) return Promise.reject(f);
    return Promise.resolve({
      metadata: { resourceVersion: '1' },
      items: this.items.get(req.path) ?? [],
    } as T);
  }

  stream(req: KubeRequest): Promise<KubeStream> {
    const body = new PassThrough();
    this.streams.set(req.path, body);
    return Promise.resolve({ body, close: () => body.destroy() });
  }

  send(kind: string, type: string, object: unknown): void {
    const k = WATCHED_KINDS.find((x) => x.kind === kind);
    const s = k ? this.streams.get(collectionPath(k)) : undefined;
    if (!s) throw new Error(`no watch open for ${kind}`);
    s.write(`${JSON.stringify({ type, object })}\n`);
  }
}

const path = (kind: string): string => {
  const k = WATCHED_KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(kind);
  return collectionPath(k);
};

const ns = { metadata: { name: 'shop', resourceVersion: '1' } };
const node = {
  metadata: { name: 'n1' },
  status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] },
};
const pod = (name: string, ip: string, rv = '2') => ({
  metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: rv, managedFields: [{}] },
  spec: { nodeName: 'n1' },
  status: { podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setup(startTimeoutMs?: number) {
  const api = new PathsApi();
  const clock = new FakeClock();
  const store = new KubeConfigStore({
    api,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    clock,
    reflector: { random: () => 0.5 },
    ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }),
  });
  return { api, clock, store };
}

describe('KubeConfigStore', () => {
  it('starts once every kind listed; an absent API (404) counts, is reported, and the rest is served', async () => {
    const { api, store } = setup();
    api.items.set(path('Namespace'), [ns]);
    api.items.set(path('Node'), [node]);
    api.items.set(path('Pod'), [pod('a', '10.1.0.1')]);
    for (const kind of ['Gateway', 'HTTPRoute', 'GRPCRoute']) {
      api.failures.set(path(kind), new KubeApiError('404', 404, 'NotFound', undefined));
    }
    await store.start();
    const snap = store.get();
    expect(snap.generation).toBe(1);
    expect(snap.resources.Pod.map((p) => p.metadata.name)).toEqual(['a']);
    expect(JSON.stringify(snap.resources.Pod)).not.toContain('managedFields');
    const watches = store.status().watches ?? [];
    expect(watches.map((w) => w.kind)).toEqual(WATCHED_KINDS.map((k) => k.kind));
    expect(watches.find((w) => w.kind === 'Gateway')).toMatchObject({ state: 'absent', objects: 0 });
    expect(store.status()).toMatchObject({ source: 'kube:http://paths' });
    expect(store.status().lastRejected).toBeUndefined();
    await store.close();
  });

  it('start() gives up after startTimeoutMs naming the kinds that never listed', async () => {
    const { api, clock, store } = setup(10_000);
    api.failures.set(path('Pod'), new KubeApiError('GET /api/v1/pods: 500', 500, 'InternalError', undefined));
    const started = store.start().catch((e: unknown) => e);
    await settle();
    for (let t = 0; t < 10_000; t += 1_000) {
      await clock.advance(1_000);
      await settle();
    }
    const err = await started;
    expect(err).toMatchObject({ code: 'CTL_KUBE_STORE' });
    expect((err as Error).message).toMatch(
      /did not list every kind within 10 s: Pod \(GET \/api\/v1\/pods: 500\)/,
    );
    await store.close();
  });

  it('holds back a bad object: an update keeps the last good version, a new one is left out; both reported', async () => {
    const { api, clock, store } = setup();
    api.items.set(path('Namespace'), [ns]);
    api.items.set(path('Node'), [node]);
    api.items.set(path('Pod'), [pod('a', '10.1.0.1')]);
    await store.start();
    await settle();
    const seen: number[] = [];
    store.subscribe((s) => seen.push(s.generation));

    api.send('Pod', 'MODIFIED', pod('a', 'not-an-ip', '3'));
    api.send('Pod', 'ADDED', pod('b', 'also-bad', '4'));
    api.send('Pod', 'ADDED', pod('c', '10.1.0.3', '5'));
    await settle();
    await clock.advance(KUBE_MAX_DEBOUNCE_MS);
    expect(seen).toEqual([2]); // three events, one debounced rebuild
    const pods = store.get().resources.Pod;
    expect(pods.map((p) => [p.metadata.name, p.status?.podIP])).toEqual([
      ['a', '10.1.0.1'],
      ['c', '10.1.0.3'],
    ]);
    const errors = store.status().lastRejected?.errors ?? [];
    expect(errors.map((e) => [e.file, e.resource, e.field])).toEqual([
      ['kube:Pod/shop/a', 'Pod shop/a', 'status.podIP'],
      ['kube:Pod/shop/b', 'Pod shop/b', 'status.podIP'],
    ]);

    // fixing (or deleting) the bad objects is all it takes
    api.send('Pod', 'MODIFIED', pod('a', '10.1.0.9', '6'));
    api.send('Pod', 'DELETED', pod('b', 'also-bad', '7'));
    await settle();
    await clock.advance(KUBE_MAX_DEBOUNCE_MS);
    expect(store.get().resources.Pod.map((p) => p.status?.podIP)).toEqual(['10.1.0.9', '10.1.0.3']);
    expect(store.status().lastRejected).toBeUndefined();
    await store.close();
  });

  it('a cluster that never stops changing still gets rebuilds (a burst does not push its rebuild back)', async () => {
    const { api, clock, store } = setup();
    api.items.set(path('Namespace'), [ns]);
    api.items.set(path('Node'), [node]);
    await store.start();
    await settle();
    const seen: number[] = [];
    store.subscribe((s) => seen.push(s.generation));
    for (let i = 0; i < 100; i++) {
      api.send('Pod', 'ADDED', pod(`p${i}`, `10.1.1.${i}`, String(10 + i)));
      await settle();
      await clock.advance(20); // a change every 20 ms, faster than the 50 ms window
    }
    expect(seen.length).toBeGreaterThanOrEqual(2);
    await clock.advance(KUBE_MAX_DEBOUNCE_MS);
    expect(store.get().resources.Pod).toHaveLength(100);
    await store.close();
  });

  it('an object that fails only through a reference is held back with what depends on it', async () => {
    const { api, clock, store } = setup();
    api.items.set(path('Namespace'), [ns]);
    api.items.set(path('Node'), [node]);
    api.items.set(path('Pod'), [pod('a', '10.1.0.1')]);
    await store.start();
    await settle();
    // a Pod moved to a Node the store has not seen: its previous version stays
    api.send('Pod', 'MODIFIED', { ...pod('a', '10.1.0.1', '3'), spec: { nodeName: 'n2' } });
    await settle();
    await clock.advance(KUBE_MAX_DEBOUNCE_MS);
    expect(store.get().resources.Pod[0]?.spec?.nodeName).toBe('n1');
    expect(store.status().lastRejected?.errors.map((e) => e.field)).toEqual(['spec.nodeName']);
    // the Node appears: the current version is accepted on the next change
    api.send('Node', 'ADDED', { ...node, metadata: { name: 'n2' } });
    await settle();
    await clock.advance(KUBE_MAX_DEBOUNCE_MS);
    expect(store.get().resources.Pod[0]?.spec?.nodeName).toBe('n2');
    expect(store.status().lastRejected).toBeUndefined();
    await store.close();
  });
});
