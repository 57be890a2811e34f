// KubeStatusWriter against the stand-in API server, driven by config()/state() built from the
// server's own objects (validateConfig + computeMeshState, as the Kubernetes store gives them) and
// gated by real Lease electors: the leader writes route parents (Accepted, ResolvedRefs,
// PartiallyInvalid with observedGeneration) and the waypoint Gateway's Accepted, Programmed and
// address on /status; another controller's entry stays; a pass with nothing changed makes no
// request; the follower makes none at all; a change flips only the condition that changed
// (lastTransitionTime kept on the others); and when leadership moves the new leader carries on.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { MeshState } from '../../core/model/mesh.js';
import {
  connectKube,
  type KubeApi,
  type KubeRequest,
  type KubeStream,
} from '../../controller/kube/kube-api.js';
import { LeaseLeaderElection } from '../../controller/kube/leader-election.js';
import { statusMesh, statusMeshObjects } from '../../controller/kube/status-mesh.test-helper.js';
import { WAYPOINT_CONTROLLER_NAME } from '../../controller/kube/status-targets.js';
import { KubeStatusWriter } from '../../controller/kube/status-writer.js';
import { FakeKubeApiServer, RESOURCE_TYPES, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

/** A KubeApi that logs what its replica sent. */
class TappedKubeApi implements KubeApi {
  readonly sent: { method: string; path: string }[] = [];
  constructor(private readonly inner: KubeApi) {}
  get server(): string {
    return this.inner.server;
  }
  request<T>(req: KubeRequest): Promise<T> {
    this.sent.push({ method: req.method ?? 'GET', path: req.path });
    return this.inner.request<T>(req);
  }
  stream(req: KubeRequest): Promise<KubeStream> {
    return this.inner.stream(req);
  }
  /** Requests other than the Lease's. */
  statusTraffic(): { method: string; path: string }[] {
    return this.sent.filter((r) => !r.path.includes('/leases'));
  }
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
interface ParentStatus {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: Condition[];
}

const OTHER_ENTRY = {
  parentRef: { name: 'edge' },
  controllerName: 'istio.io/gateway-controller',
  conditions: [
    {
      type: 'Accepted',
      status: 'True',
      reason: 'Accepted',
      message: 'theirs',
      lastTransitionTime: '2020-01-01T00:00:00Z',
    },
  ],
};

describe('KubeStatusWriter against the stand-in API server', () => {
  let fake: FakeKubeApiServer;
  let mesh: { config: ConfigResources; state: MeshState };
  const replicas: {
    id: string;
    api: TappedKubeApi;
    leader: LeaseLeaderElection;
    writer: KubeStatusWriter;
  }[] = [];

  /** Rebuilds config()/state() from what the server holds now, as a store's next snapshot. */
  function resync(): void {
    const objects = RESOURCE_TYPES.filter((t) => t.kind !== 'Lease').flatMap((t) =>
      fake
        .list(t.kind)
        .map((o) => ({ ...o, status: t.kind === 'Pod' || t.kind === 'Node' ? o.status : undefined })),
    );
    mesh = statusMesh(objects.map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>));
    for (const r of replicas) r.writer.nudge();
  }

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    for (const o of statusMeshObjects(1)) fake.apply(o as KubeObject);
    // another controller already reports on the cart route
    const cart = fake.get('HTTPRoute', 'shop', 'cart');
    if (!cart) throw new Error('no cart route');
    fake.apply({ ...cart, status: { parents: [OTHER_ENTRY] } });
    resync();
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      await r.writer.stop();
      await r.leader.stop();
    }
    await fake.close();
  });

  function startReplica(id: string) {
    const api = new TappedKubeApi(connectKube(fake.writeKubeconfig()));
    const logger = pino({ level: 'silent' });
    const leader = new LeaseLeaderElection({
      api,
      namespace: 'ambit-system',
      name: 'ambit-controller',
      identity: id,
      logger,
    });
    const writer = new KubeStatusWriter({
      api,
      leader,
      config: () => mesh.config,
      state: () => mesh.state,
      subscribers: () => [],
      logger,
    });
    const r = { id, api, leader, writer };
    replicas.push(r);
    writer.start();
    leader.start();
    return r;
  }

  const parentsOf = (kind: string, name: string): ParentStatus[] =>
    (fake.get(kind, 'shop', name)?.status as { parents?: ParentStatus[] } | undefined)?.parents ?? [];
  const ours = (kind: string, name: string) =>
    parentsOf(kind, name).filter((p) => p.controllerName === WAYPOINT_CONTROLLER_NAME);
  const summary = (cs: readonly Condition[]) =>
    cs.map((c) => `${c.type}=${c.status}/${c.reason}@${c.observedGeneration ?? '-'}`);
  const gatewayConditions = (): Condition[] =>
    (fake.get('Gateway', 'shop', 'waypoint')?.status as { conditions?: Condition[] } | undefined)
      ?.conditions ?? [];
  const statusPuts = () => fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/status'));

  it('the leader writes route and waypoint status; unchanged passes and the follower send nothing; a new leader carries on', async () => {
    const a = startReplica('a');
    await until('a leads', () => a.leader.isLeader());
    const b = startReplica('b');
    await until('b follows a', () => b.leader.holder() === 'a');

    await until('the waypoint Gateway is Programmed', () =>
      gatewayConditions().some((c) => c.type === 'Programmed' && c.status === 'True'),
    );
    await until('every route of ours has its entry', () => ours('HTTPRoute', 'ghost').length === 1);
    expect(summary(ours('HTTPRoute', 'cart')[0]?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted@1',
      'ResolvedRefs=True/ResolvedRefs@1',
    ]);
    expect(ours('HTTPRoute', 'cart')[0]?.parentRef).toEqual({
      group: '',
      kind: 'Service',
      namespace: 'shop',
      name: 'cart',
      port: 8080,
    });
    expect(parentsOf('HTTPRoute', 'cart')[0]).toEqual(OTHER_ENTRY);
    expect(summary(ours('HTTPRoute', 'cart-partial')[0]?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted@1',
      'ResolvedRefs=True/ResolvedRefs@1',
      'PartiallyInvalid=True/UnsupportedValue@1',
    ]);
    expect(summary(ours('HTTPRoute', 'ghost')[0]?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted@1',
      'ResolvedRefs=False/BackendNotFound@1',
    ]);
    expect(summary(ours('GRPCRoute', 'rpc')[0]?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted@1',
      'ResolvedRefs=True/ResolvedRefs@1',
    ]);
    expect(fake.get('HTTPRoute', 'shop', 'edge-only')?.status).toBeUndefined();
    expect(summary(gatewayConditions())).toEqual([
      'Accepted=True/Accepted@1',
      'Programmed=True/Programmed@1',
    ]);
    expect((fake.get('Gateway', 'shop', 'waypoint')?.status as { addresses?: unknown }).addresses).toEqual([
      { type: 'IPAddress', value: '10.96.0.20' },
    ]);
    // four routes of ours and one Gateway, each written once; the edge-only route was only read
    expect(statusPuts()).toHaveLength(5);
    expect(fake.get('HTTPRoute', 'shop', 'cart')?.metadata.generation).toBe(1);

    // nothing changed: a nudged pass makes no request at all
    const sentBefore = a.api.statusTraffic().length;
    const passes = a.writer.passes;
    a.writer.nudge();
    await until('another pass', () => a.writer.passes > passes);
    expect(a.api.statusTraffic()).toHaveLength(sentBefore);
    // the follower was nudged on every resync too and never touched a route or a Gateway
    expect(b.api.statusTraffic()).toEqual([]);

    // the waypoint pods stop being ready: Programmed flips, Accepted keeps its lastTransitionTime
    const before = gatewayConditions();
    for (const name of ['waypoint-a', 'waypoint-b']) {
      const pod = fake.get('Pod', 'shop', name);
      if (!pod) throw new Error(`no pod ${name}`);
      fake.apply({
        ...pod,
        status: {
          podIP: (pod.status as { podIP: string }).podIP,
          conditions: [{ type: 'Ready', status: 'False' }],
        },
      });
    }
    resync();
    await until('Programmed=False', () =>
      gatewayConditions().some((c) => c.type === 'Programmed' && c.status === 'False'),
    );
    const after = gatewayConditions();
    expect(summary(after)).toEqual(['Accepted=True/Accepted@1', 'Programmed=False/Pending@1']);
    expect(after[0]?.lastTransitionTime).toBe(before[0]?.lastTransitionTime);
    expect(statusPuts()).toHaveLength(6);

    // leadership moves: b takes over, reads once, writes nothing that is already right...
    await a.writer.stop();
    await a.leader.stop();
    await until('b leads', () => b.leader.isLeader());
    await until('b made a full pass', () => b.writer.passes > 0 && b.api.statusTraffic().length >= 6);
    expect(b.api.statusTraffic().every((r) => r.method === 'GET')).toBe(true);
    expect(statusPuts()).toHaveLength(6);
    // ...and carries on: a route changes, b writes it
    const ghost = fake.get('HTTPRoute', 'shop', 'ghost');
    if (!ghost) throw new Error('no ghost route');
    fake.apply({
      ...ghost,
      spec: { ...(ghost.spec as object), rules: [{ backendRefs: [{ name: 'cart', port: 8080 }] }] },
    });
    resync();
    await until('ghost resolves', () =>
      ours('HTTPRoute', 'ghost')[0]?.conditions.some((c) => c.type === 'ResolvedRefs' && c.status === 'True'),
    );
    expect(summary(ours('HTTPRoute', 'ghost')[0]?.conditions ?? [])).toEqual([
      'Accepted=True/Accepted@2',
      'ResolvedRefs=True/ResolvedRefs@2',
    ]);
    // the stand-in applies the PUT before b has read its response: wait for b to count it
    await until('b counted its write', () => b.writer.writes >= 1);
    expect(b.writer.writes).toBe(1);
  });

  it('a status write that meets a 409 rereads and writes on the fresh object', async () => {
    const a = startReplica('a');
    await until('a leads', () => a.leader.isLeader());
    await until('first pass written', () => statusPuts().length === 5);
    // someone else writes the route between our read and our write: our PUT's resourceVersion is stale
    let conflicts = 0;
    fake.route('PUT', /\/httproutes\/cart\/status$/, (body) => {
      const cur = fake.get('HTTPRoute', 'shop', 'cart');
      if (!cur) throw new Error('no cart');
      const sent = body as KubeObject;
      if (conflicts === 0 || sent.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        conflicts += 1;
        fake.apply({ ...cur, metadata: { ...cur.metadata, labels: { touched: `${conflicts}` } } });
        return {
          status: 409,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Conflict',
            code: 409,
            message: 'modified',
          },
        };
      }
      return { status: 200, body: fake.apply({ ...cur, status: sent.status }) };
    });
    const cart = fake.get('HTTPRoute', 'shop', 'cart');
    if (!cart) throw new Error('no cart');
    const dropped = {
      filters: [{ type: 'ExtensionRef', extensionRef: { group: 'example.com', kind: 'Magic', name: 'm' } }],
      backendRefs: [{ name: 'cart', port: 8080 }],
    };
    fake.apply({
      ...cart,
      spec: {
        ...(cart.spec as { rules: unknown[] }),
        rules: [...(cart.spec as { rules: unknown[] }).rules, dropped],
      },
    });
    resync();
    await until('cart is PartiallyInvalid', () =>
      ours('HTTPRoute', 'cart')[0]?.conditions.some((c) => c.type === 'PartiallyInvalid'),
    );
    expect(conflicts).toBe(1);
    expect(fake.get('HTTPRoute', 'shop', 'cart')?.metadata.labels).toEqual({ touched: '1' });
    expect(parentsOf('HTTPRoute', 'cart')[0]).toEqual(OTHER_ENTRY);
  });
});
