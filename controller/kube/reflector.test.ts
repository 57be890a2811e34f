import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { KubeApiError, type KubeApi, type KubeRequest, type KubeStream } from './kube-api.js';
import { classifyFailure, Reflector, type ReflectorOptions } from './reflector.js';
import { WatchMetrics } from './watch-metrics.js';
import { WATCHED_KINDS, type WatchedKind } from './watched-kinds.js';

function watchedKind(kind: string): WatchedKind {
  const k = WATCHED_KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`${kind} is not watched`);
  return k;
}
const podKind = watchedKind('Pod');

const pod = (name: string, rv: number, extra: Record<string, unknown> = {}) => ({
  metadata: {
    name,
    namespace: 'shop',
    resourceVersion: String(rv),
    uid: `uid-${name}`,
    managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'app', ports: [{ containerPort: 80 }] }] },
  status: { podIP: '10.0.0.1', startTime: '2024-01-01T00:00:00Z' },
  ...extra,
});

/** A KubeApi whose list pages and watch streams the test scripts; every request is recorded. */
class ScriptedApi implements KubeApi {
  readonly server = 'http://scripted';
  readonly requests: KubeRequest[] = [];
  readonly streams: PassThrough[] = [];
  list: (req: KubeRequest) => unknown = () => ({ metadata: { resourceVersion: '1' }, items: [] });
  watch: (req: KubeRequest) => void = () => undefined;

  request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(req);
    try {
      return Promise.resolve(this.list(req) as T);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  stream(req: KubeRequest): Promise<KubeStream> {
    this.requests.push(req);
    try {
      this.watch(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const body = new PassThrough();
    this.streams.push(body);
    return Promise.resolve({ body, close: () => body.destroy() });
  }

  get lists(): KubeRequest[] {
    return this.requests.filter((r) => !r.query?.watch);
  }

  get watches(): KubeRequest[] {
    return this.requests.filter((r) => r.query?.watch);
  }

  /** The newest watch stream. */
  get open(): PassThrough {
    const s = this.streams[this.streams.length - 1];
    if (!s) throw new Error('no watch opened');
    return s;
  }

  send(event: unknown): void {
    this.open.write(`${JSON.stringify(event)}\n`);
  }
}

/** Lets promise chains and stream callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setup(o: Partial<ReflectorOptions> = {}) {
  const api = new ScriptedApi();
  const clock = new FakeClock();
  const registry = new Registry();
  const metrics = new WatchMetrics(registry);
  let changes = 0;
  const r = new Reflector({
    api,
    kind: podKind,
    logger: pino({ level: 'silent' }),
    metrics,
    clock,
    random: () => 0.5,
    onChange: () => (changes += 1),
    silenceLimitMs: 10_000,
    relistIntervalMs: 100_000,
    ...o,
  });
  const metric = async (name: string, labels: Record<string, string>) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
    return v?.value ?? 0;
  };
  return { api, clock, r, metric, changes: () => changes };
}

const cached = (r: Reflector, key: string) => {
  const o = r.objects().get(key);
  return o ? (JSON.parse(o.text) as Record<string, unknown>) : undefined;
};

describe('Reflector', () => {
  it('lists page by page, caches slim objects with kind, then watches from the list resourceVersion', async () => {
    const { api, r } = setup({ pageSize: 2 });
    const all = [pod('a', 5), pod('b', 6), pod('c', 7)];
    api.list = (req) => {
      const from = req.query?.continue === undefined ? 0 : Number(req.query.continue);
      const next = from + 2 < all.length ? String(from + 2) : undefined;
      return { metadata: { resourceVersion: '42', continue: next }, items: all.slice(from, from + 2) };
    };
    r.start();
    await r.firstSync;
    await settle();
    expect(api.lists.map((q) => [q.query?.limit, q.query?.continue])).toEqual([
      [2, undefined],
      [2, '2'],
    ]);
    expect([...r.objects().keys()]).toEqual(['shop/a', 'shop/b', 'shop/c']);
    const a = cached(r, 'shop/a');
    expect(a).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', uid: 'uid-a' } });
    expect(JSON.stringify(a)).not.toContain('managedFields');
    expect(JSON.stringify(a)).not.toContain('startTime');
    expect(JSON.stringify(a)).not.toContain('image');
    const w = api.watches[0]?.query;
    expect(w).toMatchObject({ watch: true, resourceVersion: '42', allowWatchBookmarks: true });
    expect(Number(w?.timeoutSeconds)).toBeGreaterThanOrEqual(300);
    expect(Number(w?.timeoutSeconds)).toBeLessThanOrEqual(600);
    expect(r.status()).toMatchObject({ state: 'watching', objects: 3, resourceVersion: '42', relists: 1 });
    r.stop();
  });

  it('parses events split across chunks (mid-line and mid-character)', async () => {
    const { api, r, changes } = setup();
    r.start();
    await r.firstSync;
    await settle();
    const line = Buffer.from(
      `${JSON.stringify({ type: 'ADDED', object: pod('é-pod', 10, { metadata: { name: 'x', namespace: 'shop', resourceVersion: '10', labels: { app: 'café' } } }) })}\n`,
    );
    const cut = line.indexOf(Buffer.from('é')) + 1; // inside the two-byte é
    api.open.write(line.subarray(0, 7));
    api.open.write(line.subarray(7, cut));
    await settle();
    expect(r.objects().size).toBe(0);
    api.open.write(line.subarray(cut));
    await settle();
    expect(cached(r, 'shop/x')).toMatchObject({ metadata: { labels: { app: 'café' } } });
    expect(r.status().resourceVersion).toBe('10');
    expect(changes()).toBe(1);
    // an update that changes only stripped fields is not a change
    api.send({
      type: 'MODIFIED',
      object: {
        ...pod('x', 11),
        metadata: { name: 'x', namespace: 'shop', resourceVersion: '11', labels: { app: 'café' } },
        status: { podIP: '10.0.0.1', startTime: 'later' },
      },
    });
    await settle();
    expect(r.status().resourceVersion).toBe('11');
    expect(changes()).toBe(1);
    api.send({ type: 'DELETED', object: pod('x', 12) });
    await settle();
    expect(r.objects().size).toBe(0);
    expect(changes()).toBe(2);
    r.stop();
  });

  it('a bookmark advances the resourceVersion; a dropped watch resumes from it after the backoff', async () => {
    const { api, clock, r, metric } = setup();
    r.start();
    await r.firstSync;
    await settle();
    api.send({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '77' } },
    });
    await settle();
    expect(r.status().resourceVersion).toBe('77');
    api.open.destroy(new Error('socket hang up'));
    await settle();
    expect(r.status()).toMatchObject({ state: 'backoff', restarts: 1, lastRestartReason: 'dropped' });
    expect(api.watches).toHaveLength(1);
    await clock.advance(499);
    await settle();
    expect(api.watches).toHaveLength(1);
    await clock.advance(1);
    await settle();
    expect(api.watches).toHaveLength(2);
    expect(api.watches[1]?.query?.resourceVersion).toBe('77');
    expect(api.lists).toHaveLength(1); // no relist for a dropped connection
    expect(await metric('ambit_controller_watch_restarts_total', { kind: 'Pod', reason: 'dropped' })).toBe(1);
    expect(await metric('ambit_controller_watch_events_total', { kind: 'Pod', type: 'BOOKMARK' })).toBe(1);
    r.stop();
  });

  it('an ERROR event with code 410 relists', async () => {
    const { api, clock, r } = setup();
    r.start();
    await r.firstSync;
    await settle();
    api.send({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } });
    await settle();
    expect(r.status()).toMatchObject({ lastRestartReason: 'expired' });
    await clock.advance(500);
    await settle();
    expect(api.lists).toHaveLength(2);
    expect(api.watches).toHaveLength(2);
    r.stop();
  });

  it('429 with Retry-After: the next attempt waits at least that long', async () => {
    const { api, clock, r } = setup();
    let throttle = 1;
    api.watch = () => {
      if (throttle-- > 0) throw new KubeApiError('429', 429, 'TooManyRequests', 5_000);
    };
    r.start();
    await r.firstSync;
    await settle();
    expect(api.watches).toHaveLength(1);
    expect(r.status().lastRestartReason).toBe('throttled');
    await clock.advance(4_999);
    await settle();
    expect(api.watches).toHaveLength(1);
    await clock.advance(1);
    await settle();
    expect(api.watches).toHaveLength(2);
    expect(r.status().state).toBe('watching');
    r.stop();
  });

  it('backoff grows with each failure and is capped', async () => {
    const { api, clock, r } = setup({ backoff: { initialMs: 100, maxMs: 400, factor: 2 } });
    api.watch = () => {
      throw new KubeApiError('503', 503, 'ServiceUnavailable', undefined);
    };
    r.start();
    await r.firstSync;
    await settle();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = api.watches.length;
      let waited = 0;
      while (api.watches.length === before && waited < 10_000) {
        await clock.advance(25);
        await settle();
        waited += 25;
      }
      times.push(waited);
    }
    // equal jitter with random 0.5: 3/4 of the ceiling, never below initialMs
    expect(times).toEqual([100, 150, 300, 300, 300]);
    expect(r.status().restarts).toBeGreaterThanOrEqual(5);
    r.stop();
  });

  it('the watchdog closes a silent watch and relists', async () => {
    const { api, clock, r, metric } = setup();
    r.start();
    await r.firstSync;
    await settle();
    const first = api.open;
    await clock.advance(9_000);
    api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } });
    await settle();
    await clock.advance(9_000); // 18 s since the watch opened, 9 s since the bookmark
    await settle();
    expect(api.lists).toHaveLength(1);
    await clock.advance(1_000);
    await settle();
    expect(first.destroyed).toBe(true);
    expect(api.lists).toHaveLength(2);
    expect(r.status()).toMatchObject({ lastRestartReason: 'silent', state: 'watching' });
    expect(await metric('ambit_controller_watch_relists_total', { kind: 'Pod', reason: 'silent' })).toBe(1);
    r.stop();
  });

  it('the periodic relist finds a delete the watch missed', async () => {
    const { api, clock, r, metric, changes } = setup();
    let items = [pod('a', 5), pod('b', 6)];
    api.list = () => ({ metadata: { resourceVersion: '10' }, items });
    r.start();
    await r.firstSync;
    await settle();
    expect(r.objects().size).toBe(2);
    items = [pod('a', 5)];
    api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '11' } } });
    await clock.advance(9_000); // keep the watchdog quiet
    api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } });
    await settle();
    for (let t = 0; t < 120_000 && api.lists.length < 2; t += 5_000) {
      api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } });
      await clock.advance(5_000);
      await settle();
    }
    expect(api.lists).toHaveLength(2);
    expect([...r.objects().keys()]).toEqual(['shop/a']);
    expect(changes()).toBe(2);
    expect(await metric('ambit_controller_watch_relist_drift_total', { kind: 'Pod', type: 'DELETED' })).toBe(
      1,
    );
    expect(await metric('ambit_controller_watch_relists_total', { kind: 'Pod', reason: 'periodic' })).toBe(1);
    r.stop();
  });

  it('a 404 (API absent) settles the first sync empty and keeps retrying until the API appears', async () => {
    const { api, clock, r } = setup();
    let served = false;
    api.list = (req) => {
      if (!served) throw new KubeApiError(`GET ${req.path}: 404`, 404, 'NotFound', undefined);
      return { metadata: { resourceVersion: '3' }, items: [pod('a', 3)] };
    };
    r.start();
    await r.firstSync;
    expect(r.status()).toMatchObject({ state: 'absent', objects: 0, lastRestartReason: 'absent' });
    await clock.advance(500);
    await settle();
    expect(api.lists).toHaveLength(2);
    served = true;
    await clock.advance(1_000);
    await settle();
    expect(r.status()).toMatchObject({ state: 'watching', objects: 1 });
    r.stop();
  });

  it('a watch forbidden (403) keeps what was listed and retries with backoff', async () => {
    const { api, clock, r, changes } = setup();
    api.list = () => ({ metadata: { resourceVersion: '3' }, items: [pod('a', 3)] });
    api.watch = () => {
      throw new KubeApiError('403', 403, 'Forbidden', undefined);
    };
    r.start();
    await r.firstSync;
    await settle();
    expect(r.status()).toMatchObject({ state: 'forbidden', objects: 1, lastRestartReason: 'forbidden' });
    await clock.advance(500);
    await settle();
    expect(api.lists).toHaveLength(2);
    expect(r.objects().size).toBe(1);
    expect(changes()).toBe(1); // listed once; never emptied and refilled
    r.stop();
  });

  it('a 410 on a continue token restarts the list from the top', async () => {
    const { api, r } = setup({ pageSize: 1 });
    let expireOnce = true;
    api.list = (req) => {
      if (req.query?.continue !== undefined) {
        if (expireOnce) {
          expireOnce = false;
          throw new KubeApiError('410', 410, 'Expired', undefined);
        }
        return { metadata: { resourceVersion: '9' }, items: [pod('b', 9)] };
      }
      return { metadata: { resourceVersion: '9', continue: 'next' }, items: [pod('a', 8)] };
    };
    r.start();
    await r.firstSync;
    expect(api.lists.map((q) => q.query?.continue)).toEqual([undefined, 'next', undefined, 'next']);
    expect([...r.objects().keys()]).toEqual(['shop/a', 'shop/b']);
    r.stop();
  });

  it('a line that is not JSON restarts with a relist', async () => {
    const { api, clock, r } = setup();
    r.start();
    await r.firstSync;
    await settle();
    api.open.write('{"type":"ADDED",\n');
    await settle();
    expect(r.status().lastRestartReason).toBe('parse');
    await clock.advance(500);
    await settle();
    expect(api.lists).toHaveLength(2);
    r.stop();
  });

  it('the server timeout is a normal rollover: watched again at once, no restart', async () => {
    const { api, clock, r } = setup({ relistIntervalMs: 3_600_000 });
    r.start();
    await r.firstSync;
    await settle();
    const timeoutMs = Number(api.watches[0]?.query?.timeoutSeconds) * 1000;
    for (let t = 0; t < timeoutMs; t += 9_000) {
      api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } });
      await clock.advance(9_000);
      await settle();
    }
    api.open.end();
    await settle();
    expect(api.watches).toHaveLength(2);
    expect(api.watches[1]?.query?.resourceVersion).toBe('5');
    expect(r.status().restarts).toBe(0);
    r.stop();
  });

  it('a watch the server ends long before its timeout backs off (closed-early) instead of spinning', async () => {
    const { api, clock, r } = setup();
    r.start();
    await r.firstSync;
    await settle();
    api.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } });
    api.open.end();
    await settle();
    expect(r.status()).toMatchObject({ lastRestartReason: 'closed-early', state: 'backoff' });
    expect(api.watches).toHaveLength(1);
    await clock.advance(500);
    await settle();
    expect(api.watches).toHaveLength(2);
    r.stop();
  });
});

describe('classifyFailure', () => {
  const e = (status: number, reason?: string) => new KubeApiError('x', status, reason, undefined);
  it.each([
    ['no response', e(0), 'network', false],
    ['dropped stream', e(0, 'Dropped'), 'dropped', false],
    ['bad line', e(0, 'ParseError'), 'parse', true],
    ['410', e(410, 'Expired'), 'expired', true],
    ['429', e(429), 'throttled', false],
    ['500', e(500), 'server-error', false],
    ['503', e(503), 'server-error', false],
    ['404', e(404), 'absent', true],
    ['403', e(403), 'forbidden', true],
    ['401', e(401), 'unauthorized', false],
    ['400', e(400), 'client-error', true],
    ['not a KubeApiError', new Error('x'), 'parse', true],
  ])('%s', (_d, err, reason, relist) => {
    expect(classifyFailure(err)).toEqual({ reason, relist });
  });
});
