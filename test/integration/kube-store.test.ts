// The Kubernetes config store (controller/kube/kube-config-store.ts) against an API server that
// speaks the real list/watch protocol over HTTP. Each case ends in a mesh state (what `ambit
// config dump` prints: computeMeshState over the store's snapshot) and shows the watch recovering
// (restart counter and reason in status(), the requests the server saw).
//
// Against the stand-in (test/support/fake-kube-apiserver.ts), the default: every case runs.
//
// Against a real cluster: set KUBECONFIG to a kubeconfig whose user may create, update and
// delete namespaces, services and endpointslices, and list/watch every kind in WATCHED_KINDS:
//   KUBECONFIG=~/.kube/config flock /tmp/ambit-test.lock npx vitest run test/integration/kube-store.test.ts
// The suite then creates a uniquely named namespace (ambit-store-test-<random>), applies its
// objects there, checks the mesh state the store builds from the whole cluster for that
// namespace, and deletes the namespace at the end (even on failure). Services and EndpointSlices
// stand in for workloads there: a Pod needs a kubelet to get its IP and Ready condition. The
// cases that need the stand-in to inject a fault (drop, silence, compact, throttle, delete
// without an event, unserve an API group) or Pod status are not part of the real-cluster suite:
// they run in the same invocation against the stand-in, which always runs whole.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WatchStatus } from '../../controller/config-store.js';
import { connectKube, isConflict, isNotFound, type KubeApi } from '../../controller/kube/kube-api.js';
import { KubeConfigStore, type ReflectorTuning } from '../../controller/kube/kube-config-store.js';
import { collectionPath, WATCHED_KINDS } from '../../controller/kube/watched-kinds.js';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

const REAL = Boolean(process.env.KUBECONFIG);

const NS = `ambit-store-test-${randomBytes(3).toString('hex')}`;

/** Writes objects to the cluster the store watches: the stand-in directly, a real one through its API. */
class Cluster {
  constructor(
    readonly api: KubeApi,
    readonly fake: FakeKubeApiServer | undefined,
  ) {}

  private pathOf(o: KubeObject): string {
    const k = WATCHED_KINDS.find((x) => x.kind === o.kind);
    if (!k) throw new Error(`not a watched kind: ${String(o.kind)}`);
    const base = collectionPath(k);
    if (!k.namespaced) return base;
    const parts = base.split('/');
    const plural = parts.pop() ?? '';
    return `${parts.join('/')}/namespaces/${o.metadata.namespace ?? NS}/${plural}`;
  }

  async apply(o: KubeObject): Promise<void> {
    if (this.fake) {
      this.fake.apply(o);
      return;
    }
    const path = this.pathOf(o);
    try {
      await this.api.request({ method: 'POST', path, body: o });
    } catch (err) {
      if (!isConflict(err)) throw err;
      const cur = await this.api.request<KubeObject>({ path: `${path}/${o.metadata.name}` });
      await this.api.request({
        method: 'PUT',
        path: `${path}/${o.metadata.name}`,
        body: { ...o, metadata: { ...o.metadata, resourceVersion: cur.metadata.resourceVersion } },
      });
    }
  }

  async remove(o: KubeObject): Promise<void> {
    if (this.fake) {
      this.fake.delete(String(o.kind), o.metadata.namespace, o.metadata.name);
      return;
    }
    try {
      await this.api.request({ method: 'DELETE', path: `${this.pathOf(o)}/${o.metadata.name}` });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

const namespace = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: NS, labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
});
const node = (name: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  status: {
    addresses: [{ type: 'InternalIP', address: ip }],
    images: [{ names: ['registry.example/big-image:1'], sizeBytes: 123456789 }],
  },
});
const pod = (name: string, ip: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, uid: `uid-${name}`, labels: { app: 'echo' }, ...extra },
  spec: {
    nodeName: 'node-1',
    containers: [{ name: 'main', image: 'echo:1', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
});
/** A Service without selector and its EndpointSlice: endpoints a real cluster keeps as written. */
const service = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});
const slice = (service: string, ips: string[], labelled = true): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: `${service}-1`,
    namespace: NS,
    ...(labelled ? { labels: { 'kubernetes.io/service-name': service } } : {}),
  },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});
const selectorService = (name: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { selector: { app: 'echo' }, clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});

/**
 * The suite against the stand-in (real = false: every case) or a real cluster (real = true: the
 * cases a real cluster can show). A case that injects a fault or needs Pod status is registered
 * only against the stand-in, which runs in every invocation: nothing is ever skipped.
 */
function storeSuite(real: boolean): void {
  // faults need the stand-in to inject them; Pods need a kubelet for their IP and Ready condition
  const standInOnly = (name: string, fn: () => Promise<void>) => {
    if (!real) it(name, fn);
  };
  const faultIt = standInOnly;
  const podIt = standInOnly;

  describe(`Kubernetes store against ${real ? 'a real cluster (KUBECONFIG)' : 'the stand-in API server'}`, () => {
    let fake: FakeKubeApiServer | undefined;
    let cluster: Cluster;
    let store: KubeConfigStore | undefined;
    let registry: Registry;

    beforeAll(async () => {
      if (real) {
        cluster = new Cluster(connectKube(process.env.KUBECONFIG), undefined);
        await cluster.apply(namespace());
      }
    });
    afterAll(async () => {
      if (real) await cluster.remove(namespace());
    });
    afterEach(async () => {
      await store?.close();
      store = undefined;
      await fake?.close();
      fake = undefined;
    });

    /** A fresh stand-in (unless real) seeded with the namespace and two nodes, and a started store. */
    async function startStore(
      tuning: ReflectorTuning = {},
      seed: (c: Cluster) => Promise<void> = async () => {},
    ) {
      if (!real) {
        fake = await new FakeKubeApiServer({ bookmarkIntervalMs: 200 }).start();
        cluster = new Cluster(connectKube(fake.writeKubeconfig()), fake);
        await cluster.apply(namespace());
        await cluster.apply(node('node-1', '127.0.0.2'));
        await cluster.apply(node('node-2', '127.0.0.3'));
      }
      await seed(cluster);
      registry = new Registry();
      store = new KubeConfigStore({
        api: cluster.api,
        logger: pino({ level: process.env.AMBIT_TEST_LOG ?? 'silent' }),
        registry,
        reflector: { silenceLimitMs: 2_000, backoff: { initialMs: 200, maxMs: 2_000, factor: 2 }, ...tuning },
      });
      await store.start();
      return store;
    }

    const mesh = () => {
      if (!store) throw new Error('no store');
      return computeMeshState(store.get().resources, 'cluster.local');
    };
    const workloads = () =>
      mesh()
        .workloads.filter((w) => w.namespace === NS)
        .map((w) => w.name)
        .sort();
    const endpointsOf = (name: string) =>
      (mesh().services.find((s) => s.namespace === NS && s.name === name)?.endpoints ?? [])
        .map((e) => e.ip)
        .sort();
    /** Rejections of this suite's objects (a real cluster may hold others the model refuses). */
    const ourRejections = () =>
      (store?.status().lastRejected?.errors ?? []).filter((e) => e.resource.includes(NS));
    const watch = (kind: string): WatchStatus => {
      const w = store?.status().watches?.find((x) => x.kind === kind);
      if (!w) throw new Error(`no watch status for ${kind}`);
      return w;
    };
    const metric = async (name: string, labels: Record<string, string>) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
    };
    const requests = (path: string, watch: boolean) =>
      (fake?.requests ?? []).filter((r) => r.path === path && (r.query.watch === 'true') === watch);

    it('lists with pagination (more objects than the page size) and watches from the list resourceVersion', async () => {
      const services = Array.from({ length: 7 }, (_, i) => `svc-${i}`);
      await startStore({ pageSize: 3 }, async (c) => {
        for (const s of services) {
          await c.apply(service(s));
          await c.apply(slice(s, [`10.1.0.${services.indexOf(s) + 1}`]));
        }
      });
      for (const s of services) expect(endpointsOf(s)).toEqual([`10.1.0.${services.indexOf(s) + 1}`]);
      await until('the Service watch open', () => watch('Service').state === 'watching');
      expect(watch('Service').restarts).toBe(0);
      if (fake) {
        const lists = requests('/api/v1/services', false);
        expect(lists.length).toBeGreaterThanOrEqual(3); // 7 services in pages of 3
        expect(lists.every((r) => r.query.limit === '3')).toBe(true);
        expect(lists.slice(1).every((r) => r.query.continue)).toBe(true);
        const w = requests('/api/v1/services', true)[0];
        expect(w?.query).toMatchObject({
          allowWatchBookmarks: 'true',
          resourceVersion: watch('Service').resourceVersion,
        });
        expect(Number(w?.query.timeoutSeconds)).toBeGreaterThanOrEqual(300);
      }
    });

    faultIt('a continue token that expires mid-list (410) restarts the list from the top', async () => {
      const services = Array.from({ length: 7 }, (_, i) => `exp-${i}`);
      await startStore({ pageSize: 3 }, async (c) => {
        for (const s of services) await c.apply(service(s));
        c.fake?.expireContinueTokens(1);
      });
      if (!fake) return;
      const names = mesh()
        .services.filter((s) => s.namespace === NS)
        .map((s) => s.name);
      expect(names.sort()).toEqual(services);
      const lists = requests('/api/v1/services', false).map((r) => r.query.continue ?? '');
      // page 1, page 2 (410), then page 1 again from the top and on
      expect(lists[0]).toBe('');
      expect(lists[1]).not.toBe('');
      expect(lists[2]).toBe('');
      expect(lists.length).toBeGreaterThanOrEqual(5);
      expect(
        await metric('ambit_controller_watch_restarts_total', { kind: 'Service', reason: 'expired' }),
      ).toBe(1);
    });

    it('applies watch events (here split across chunks) and advances the resourceVersion', async () => {
      await startStore();
      fake?.splitWatchEvents(true);
      await cluster.apply(service('web'));
      await cluster.apply(slice('web', ['10.2.0.1', '10.2.0.2']));
      await until('web endpoints', () => endpointsOf('web').length === 2, 20_000);
      expect(endpointsOf('web')).toEqual(['10.2.0.1', '10.2.0.2']);
      const rv = Number(watch('EndpointSlice').resourceVersion);
      await cluster.apply(slice('web', ['10.2.0.3']));
      await until('web endpoints updated', () => endpointsOf('web').join() === '10.2.0.3', 20_000);
      expect(Number(watch('EndpointSlice').resourceVersion)).toBeGreaterThan(rv);
      await cluster.remove(slice('web', []));
      await until('web endpoints deleted', () => endpointsOf('web').length === 0, 20_000);
      expect(watch('EndpointSlice').restarts).toBe(0);
      expect(
        await metric('ambit_controller_watch_events_total', { kind: 'EndpointSlice', type: 'MODIFIED' }),
      ).toBeGreaterThan(0);
    });

    it('holds back a bad object: its last good version stays, a never-good one is left out, both reported', async () => {
      await startStore();
      await cluster.apply(service('held'));
      await cluster.apply(slice('held', ['10.3.0.1']));
      await until('held endpoints', () => endpointsOf('held').length === 1, 20_000);
      // the model needs kubernetes.io/service-name on an EndpointSlice; the API server does not
      await cluster.apply({ ...slice('held', ['10.3.0.9'], false) });
      await cluster.apply({ ...slice('never', ['10.3.1.1'], false) });
      await until('rejections reported', () => ourRejections().length >= 2, 20_000);
      const errors = ourRejections();
      expect(errors.map((e) => [e.resource, e.field])).toEqual(
        expect.arrayContaining([
          [`EndpointSlice ${NS}/held-1`, 'metadata.labels["kubernetes.io/service-name"]'],
          [`EndpointSlice ${NS}/never-1`, 'metadata.labels["kubernetes.io/service-name"]'],
        ]),
      );
      expect(endpointsOf('held')).toEqual(['10.3.0.1']); // the previous version, not 10.3.0.9
      expect(store?.get().resources.EndpointSlice.some((s) => s.metadata.name === 'never-1')).toBe(false);
      // fixing it is all it takes
      await cluster.apply(slice('held', ['10.3.0.9']));
      await cluster.remove(slice('never', []));
      await until(
        'fixed object accepted',
        () => endpointsOf('held').join() === '10.3.0.9' && ourRejections().length === 0,
        20_000,
      );
    });

    podIt(
      'Pods become workloads with what the model reads; managedFields and the rest are not cached',
      async () => {
        await startStore({}, async (c) => {
          await c.apply(pod('a', '10.4.0.1'));
          await c.apply(selectorService('echo', '10.96.0.10'));
        });
        expect(workloads()).toEqual(['a']);
        expect(endpointsOf('echo')).toEqual(['10.4.0.1']);
        const cached = store?.get().resources.Pod[0];
        expect(JSON.stringify(cached)).not.toContain('managedFields');
        expect(JSON.stringify(store?.get().resources.Node)).not.toContain('big-image');
        expect(cached?.metadata.uid).toBe('uid-a');
      },
    );

    faultIt('410 Gone: history compacted while disconnected -> relist finds what changed', async () => {
      await startStore({}, async (c) => c.apply(pod('a', '10.5.0.1')));
      if (!fake) return;
      fake.setRefuseWatches(true);
      fake.dropWatches();
      await cluster.apply(pod('b', '10.5.0.2'));
      fake.compact();
      const listsBefore = requests('/api/v1/pods', false).length;
      fake.setRefuseWatches(false);
      await until('pod b after 410', () => workloads().join() === 'a,b', 20_000);
      expect(requests('/api/v1/pods', false).length).toBeGreaterThan(listsBefore);
      expect(
        await metric('ambit_controller_watch_restarts_total', { kind: 'Pod', reason: 'expired' }),
      ).toBeGreaterThan(0);
      expect(
        await metric('ambit_controller_watch_relists_total', { kind: 'Pod', reason: 'expired' }),
      ).toBeGreaterThan(0);
    });

    faultIt(
      'bookmarks advance the resourceVersion without events; a dropped watch resumes from it',
      async () => {
        await startStore({}, async (c) => c.apply(pod('a', '10.6.0.1')));
        if (!fake) return;
        const rvBefore = Number(watch('Pod').resourceVersion);
        await cluster.apply(service('unrelated')); // bumps the server's resourceVersion, no Pod event
        const serverRv = Number(fake.resourceVersion);
        await until('bookmark', () => Number(watch('Pod').resourceVersion) >= serverRv, 20_000);
        expect(serverRv).toBeGreaterThan(rvBefore);
        expect(
          await metric('ambit_controller_watch_events_total', { kind: 'Pod', type: 'BOOKMARK' }),
        ).toBeGreaterThan(0);
        expect(await metric('ambit_controller_watch_events_total', { kind: 'Pod', type: 'MODIFIED' })).toBe(
          0,
        );
        const lists = requests('/api/v1/pods', false).length;
        const resumeFrom = watch('Pod').resourceVersion;
        fake.dropWatches();
        await cluster.apply(pod('b', '10.6.0.2'));
        await until('pod b after drop', () => workloads().join() === 'a,b', 20_000);
        expect(requests('/api/v1/pods', false).length).toBe(lists); // resumed, not relisted
        const watches = requests('/api/v1/pods', true);
        expect(Number(watches[watches.length - 1]?.query.resourceVersion)).toBeGreaterThanOrEqual(
          Number(resumeFrom),
        );
        await until('the Pod watch open', () => watch('Pod').state === 'watching');
        expect(watch('Pod').lastRestartReason).toBe('dropped');
        expect(
          await metric('ambit_controller_watch_restarts_total', { kind: 'Pod', reason: 'dropped' }),
        ).toBe(1);
      },
    );

    faultIt('429 with Retry-After: the next attempt waits at least that long', async () => {
      await startStore({}, async (c) => c.apply(pod('a', '10.7.0.1')));
      if (!fake) return;
      fake.setRefuseWatches(true); // hold every kind in backoff, then throttle the first to come back
      fake.dropWatches();
      await until(
        'every watch refused',
        () => (store?.status().watches ?? []).every((w) => w.state === 'backoff'),
        20_000,
      );
      const mark = fake.requests.length;
      fake.throttle(1, 2);
      fake.setRefuseWatches(false);
      await cluster.apply(pod('b', '10.7.0.2'));
      await until('pod b after 429', () => workloads().join() === 'a,b', 30_000);
      const throttled = await until('a throttled kind', () =>
        (store?.status().watches ?? []).find((w) => w.lastRestartReason === 'throttled'),
      );
      await until(
        'the throttled kind watching again',
        () => watch(throttled.kind).state === 'watching',
        30_000,
      );
      const k = WATCHED_KINDS.find((x) => x.kind === throttled.kind);
      const path = k ? collectionPath(k) : '';
      const after = fake.requests.slice(mark).filter((r) => r.path === path);
      expect(after.length).toBeGreaterThanOrEqual(2);
      const [first, second] = after;
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
      expect(
        await metric('ambit_controller_watch_restarts_total', {
          kind: throttled?.kind ?? '',
          reason: 'throttled',
        }),
      ).toBe(1);
    });

    faultIt('a watch that goes silent is closed by the watchdog and relisted', async () => {
      await startStore({ silenceLimitMs: 1_500 }, async (c) => c.apply(pod('a', '10.8.0.1')));
      if (!fake) return;
      fake.silenceWatches();
      await cluster.apply(pod('b', '10.8.0.2')); // not delivered on the silent watch
      await until('pod b after watchdog', () => workloads().join() === 'a,b', 20_000);
      await until('the Pod watch open', () => watch('Pod').state === 'watching');
      expect(watch('Pod').lastRestartReason).toBe('silent');
      expect(
        await metric('ambit_controller_watch_relists_total', { kind: 'Pod', reason: 'silent' }),
      ).toBeGreaterThan(0);
    });

    faultIt('a delete missed during a disconnect is found by the periodic relist', async () => {
      await startStore({ relistIntervalMs: 1_500 }, async (c) => {
        await c.apply(pod('a', '10.9.0.1'));
        await c.apply(pod('b', '10.9.0.2'));
        await c.apply(selectorService('echo', '10.96.0.20'));
      });
      if (!fake) return;
      expect(endpointsOf('echo')).toEqual(['10.9.0.1', '10.9.0.2']);
      fake.deleteSilently('Pod', NS, 'b');
      await until('missed delete found', () => workloads().join() === 'a', 20_000);
      expect(endpointsOf('echo')).toEqual(['10.9.0.1']);
      expect(
        await metric('ambit_controller_watch_relist_drift_total', { kind: 'Pod', type: 'DELETED' }),
      ).toBe(1);
      expect(
        await metric('ambit_controller_watch_relists_total', { kind: 'Pod', reason: 'periodic' }),
      ).toBeGreaterThan(0);
    });

    faultIt(
      'an API group that is not served (Gateway API CRDs absent) is reported and retried; the rest works',
      async () => {
        await startStore({}, async (c) => {
          c.fake?.setGroupServed('gateway.networking.k8s.io', false);
          await c.apply(pod('a', '10.10.0.1'));
        });
        if (!fake) return;
        expect(workloads()).toEqual(['a']);
        for (const kind of ['Gateway', 'HTTPRoute', 'GRPCRoute']) {
          expect(watch(kind)).toMatchObject({ state: 'absent', objects: 0, lastRestartReason: 'absent' });
        }
        await until('the Pod watch open', () => watch('Pod').state === 'watching');
        fake.apply({
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'wp', namespace: NS },
          spec: {
            gatewayClassName: 'ambit-waypoint',
            listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
          },
        });
        fake.setGroupServed('gateway.networking.k8s.io', true);
        await until('waypoint after CRDs', () => mesh().waypoints.some((w) => w.name === 'wp'), 30_000);
        await until('the Gateway watch open', () => watch('Gateway').state === 'watching');
      },
    );
  });
}

storeSuite(false);
if (REAL) storeSuite(true);
