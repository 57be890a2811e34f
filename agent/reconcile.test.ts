// The agent's decider without a kernel: what gets attached, detached and written for a mesh
// state against a simulated kernel state, and that applying a plan then reconciling again
// yields an empty plan (restart idempotence); the restore path: the desired state kept in the
// restore cache rebuilds a rebooted node's kernel state exactly as the mesh state did.
import { describe, expect, it } from 'vitest';
import { emptyMeshState, type MeshState, type Workload } from '../core/model/mesh.js';
import { viewFor } from '../core/discovery/view-for.js';
import {
  desiredKernelState,
  isPlanEmpty,
  planFor,
  reconcile,
  type NodeKernelState,
  type ReconcilePlan,
} from './reconcile.js';
import { decodeRestoreCache, encodeRestoreCache } from './restore-cache.js';
import type { AttachKind } from './attach-kinds.js';

const ROOT = '/sys/fs/cgroup/unified';

const wl = (name: string, over: Partial<Workload> = {}): Workload => ({
  uid: name,
  namespace: 'shop',
  name,
  serviceAccount: 'default',
  identity: `spiffe://cluster.local/ns/shop/sa/default`,
  node: 'n1',
  ips: [`10.0.0.${name.length}`],
  labels: { app: name },
  enrolled: true,
  ready: true,
  terminating: false,
  cgroupPath: `kube/${name}`,
  workloadName: name,
  canonicalService: name,
  canonicalRevision: 'latest',
  ...over,
});

const state = (workloads: Workload[], over: Partial<MeshState> = {}): MeshState => ({
  ...emptyMeshState('cluster.local'),
  workloads,
  ...over,
});

const empty: NodeKernelState = {
  attachments: new Map(),
  meshDst: new Map(),
  podPolicy: new Map(),
  probeSources: new Set(),
};

const run = (s: MeshState, current: NodeKernelState = empty): ReconcilePlan =>
  reconcile({
    state: s,
    node: 'n1',
    meshAddress: '169.254.7.1',
    nodeAddresses: ['10.250.0.1', '169.254.7.1'],
    cgroupRoot: ROOT,
    current,
  });

/** What the kernel would hold after the plan ran. */
function apply(current: NodeKernelState, plan: ReconcilePlan): NodeKernelState {
  const attachments = new Map<string, Set<AttachKind>>(
    [...current.attachments].map(([k, v]) => [k, new Set(v)]),
  );
  for (const a of plan.attach) {
    const s = attachments.get(a.cgroup) ?? new Set<AttachKind>();
    s.add(a.kind);
    attachments.set(a.cgroup, s);
  }
  for (const d of plan.detach) {
    attachments.get(d.cgroup)?.delete(d.kind);
    if (attachments.get(d.cgroup)?.size === 0) attachments.delete(d.cgroup);
  }
  const meshDst = new Map(current.meshDst);
  for (const [k, v] of plan.meshDst.put) meshDst.set(`${k.ip}:${k.port}`, v);
  for (const k of plan.meshDst.delete) meshDst.delete(`${k.ip}:${k.port}`);
  const podPolicy = new Map(current.podPolicy);
  for (const [k, v] of plan.podPolicy.put) podPolicy.set(k, v);
  for (const k of plan.podPolicy.delete) podPolicy.delete(k);
  const probeSources = new Set(current.probeSources);
  for (const [k] of plan.probeSources.put) probeSources.add(k);
  for (const k of plan.probeSources.delete) probeSources.delete(k);
  return { attachments, meshDst, podPolicy, probeSources, config: plan.config ?? current.config };
}

describe('reconcile', () => {
  it('enrolls a local enrolled pod: every program on its cgroup, its IP as mesh destination and policy', () => {
    const plan = run(state([wl('cart')]));
    expect(plan.attach.map((a) => [a.cgroup, a.kind])).toEqual([
      [`${ROOT}/kube/cart`, 'connect4'],
      [`${ROOT}/kube/cart`, 'connect6'],
      [`${ROOT}/kube/cart`, 'sockops'],
      [`${ROOT}/kube/cart`, 'strict_ingress'],
    ]);
    expect(plan.meshDst.put).toEqual([[{ ip: '10.0.0.4', port: 0 }, 'workload']]);
    expect(plan.podPolicy.put).toEqual([['10.0.0.4', 'PERMISSIVE']]);
    expect(plan.config).toEqual({ meshIp: '169.254.7.1', capturePort: 15001 });
    expect(plan.probeSources.put).toEqual([['10.250.0.1', true]]);
    expect(plan.enrolledPods).toEqual(['shop/cart']);
  });

  it.each([
    {
      description: 'a pod on another node is a destination but not attached',
      w: wl('cart', { node: 'n2' }),
      attach: 0,
      dst: 1,
    },
    {
      description: 'an unenrolled local pod is neither',
      w: wl('cart', { enrolled: false }),
      attach: 0,
      dst: 0,
    },
    {
      description: 'an enrolled pod without cgroup path is skipped',
      w: wl('cart', { cgroupPath: undefined }),
      attach: 0,
      dst: 1,
    },
    {
      description: 'an absolute cgroup path is kept',
      w: wl('cart', { cgroupPath: `${ROOT}/x/cart` }),
      attach: 4,
      dst: 1,
    },
    {
      description: 'an escaping cgroup path is refused',
      w: wl('cart', { cgroupPath: '../../etc' }),
      attach: 0,
      dst: 1,
    },
  ])('$description', ({ w, attach, dst }) => {
    const plan = run(state([w]));
    expect(plan.attach).toHaveLength(attach);
    expect(plan.meshDst.put).toHaveLength(dst);
  });

  it('a pod without cgroupPath uses the kubelet cgroup the plumbing found for its UID', () => {
    const w = wl('cart', { cgroupPath: undefined });
    const plan = reconcile({
      state: state([w]),
      node: 'n1',
      meshAddress: '169.254.7.1',
      nodeAddresses: [],
      cgroupRoot: ROOT,
      current: empty,
      discoveredCgroups: new Map([['cart', 'kubepods/burstable/podcart']]),
    });
    expect(plan.attach[0]?.cgroup).toBe(`${ROOT}/kubepods/burstable/podcart`);
    expect(plan.skipped).toEqual([]);
  });

  it('service VIPs (IPv4 and IPv6 ClusterIPs) are mesh destinations per TCP port', () => {
    const plan = run(
      state([], {
        services: [
          {
            namespace: 'shop',
            name: 'cart',
            hostname: 'cart.shop.svc.cluster.local',
            vips: ['10.96.0.10', 'fd00::1'],
            ports: [
              { port: 80, targetPort: 8080, protocol: 'TCP' },
              { port: 53, targetPort: 53, protocol: 'UDP' },
            ],
            labels: {},
            endpoints: [],
          },
        ],
      }),
    );
    expect(plan.meshDst.put).toEqual([
      [{ ip: '10.96.0.10', port: 80 }, 'service'],
      [{ ip: 'fd00::1', port: 80 }, 'service'],
    ]);
  });

  it('STRICT from a namespace PeerAuthentication reaches the pod policy; DISABLE stays permissive', () => {
    const pa = (mode: 'STRICT' | 'DISABLE') => ({
      namespace: 'shop',
      name: 'default',
      mode,
      portLevelMtls: {},
      meshWide: false,
    });
    expect(run(state([wl('cart')], { peerAuthentications: [pa('STRICT')] })).podPolicy.put).toEqual([
      ['10.0.0.4', 'STRICT'],
    ]);
    expect(run(state([wl('cart')], { peerAuthentications: [pa('DISABLE')] })).podPolicy.put).toEqual([
      ['10.0.0.4', 'PERMISSIVE'],
    ]);
  });

  it('another node’s pods reach the mesh-destination maps through the view’s meshDestinations (both families, IPv6 canonical)', () => {
    const plan = run(state([], { meshDestinations: [{ uid: 'web', ips: ['10.0.1.5', 'FD00:0::5'] }] }));
    expect(plan.meshDst.put).toEqual([
      [{ ip: '10.0.1.5', port: 0 }, 'workload'],
      [{ ip: 'fd00::5', port: 0 }, 'workload'],
    ]);
    expect(plan.attach).toEqual([]);
    expect(plan.podPolicy.put).toEqual([]);
  });

  it('the agent’s view (own pods, others as destinations) and the whole state (--state-file) give one plan', () => {
    const whole = state(
      [
        wl('cart'),
        wl('web', { node: 'n2' }),
        wl('db', { enrolled: false }),
        wl('queue', { node: 'n3', ips: ['10.0.3.7', 'fd00::7'] }),
        wl('legacy', { node: 'n2', enrolled: false }),
      ],
      {
        peerAuthentications: [
          { namespace: 'shop', name: 'default', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
        ],
      },
    );
    const view = viewFor({ kind: 'agent', node: 'n1' }, whole);
    // its own node's unenrolled pod too (the pod start gate answers "not enrolled" from it)
    expect(view.workloads.map((w) => w.name)).toEqual(['cart', 'db']);
    expect(view.meshDestinations.map((d) => d.uid)).toEqual(['web', 'queue']);
    const fromWhole = run(whole);
    expect(run(view)).toEqual(fromWhole);
    expect(fromWhole.meshDst.put).toEqual([
      [{ ip: '10.0.0.4', port: 0 }, 'workload'],
      [{ ip: '10.0.0.3', port: 0 }, 'workload'],
      [{ ip: '10.0.3.7', port: 0 }, 'workload'],
      [{ ip: 'fd00::7', port: 0 }, 'workload'],
    ]);
    const kernel = apply(empty, fromWhole);
    expect(isPlanEmpty(run(view, kernel))).toBe(true);
  });

  it('a plan applied and reconciled again is empty (restart attaches nothing twice)', () => {
    const s = state([wl('cart'), wl('web', { node: 'n2' }), wl('db', { enrolled: false })]);
    const after = apply(empty, run(s));
    const again = run(s, after);
    expect(isPlanEmpty(again)).toBe(true);
  });

  it('unenrolling detaches after the fact and removes its entries', () => {
    const s = state([wl('cart'), wl('web')]);
    const enrolled = apply(empty, run(s));
    const plan = run(state([wl('cart', { enrolled: false }), wl('web')]), enrolled);
    expect(plan.attach).toEqual([]);
    expect(plan.detach.map((d) => [d.cgroup, d.kind])).toEqual([
      [`${ROOT}/kube/cart`, 'connect4'],
      [`${ROOT}/kube/cart`, 'connect6'],
      [`${ROOT}/kube/cart`, 'sockops'],
      [`${ROOT}/kube/cart`, 'strict_ingress'],
    ]);
    expect(plan.meshDst.delete).toEqual([{ ip: '10.0.0.4', port: 0 }]);
    expect(plan.podPolicy.delete).toEqual(['10.0.0.4']);
  });

  it('a deleted pod is unenrolled the same way; a half-attached pod gets only what it lacks', () => {
    const enrolled = apply(empty, run(state([wl('cart')])));
    expect(run(state([]), enrolled).detach).toHaveLength(4);
    const half: NodeKernelState = {
      ...enrolled,
      attachments: new Map([[`${ROOT}/kube/cart`, new Set<AttachKind>(['connect4'])]]),
    };
    expect(run(state([wl('cart')]), half).attach.map((a) => a.kind)).toEqual([
      'connect6',
      'sockops',
      'strict_ingress',
    ]);
  });
});

describe('restore from the desired state (restore cache)', () => {
  const facts = { meshAddress: '169.254.7.1', nodeAddresses: ['10.250.0.1', '169.254.7.1'] };
  const s = state(
    [
      wl('cart'),
      wl('web', { node: 'n2' }),
      wl('db', { enrolled: false }),
      wl('pay', { cgroupPath: undefined }),
    ],
    {
      services: [
        {
          namespace: 'shop',
          name: 'web',
          hostname: 'web.shop.svc.cluster.local',
          vips: ['10.96.0.9'],
          ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
          labels: {},
          endpoints: [],
        },
      ],
      peerAuthentications: [
        { namespace: 'shop', name: 'default', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
      ],
    },
  );
  const input = { state: s, node: 'n1', cgroupRoot: ROOT, ...facts };

  it('after a reboot (empty kernel) the cached state gives the same plan as the mesh state', () => {
    const { desired, skipped } = desiredKernelState(input);
    expect(skipped.map((x) => x.pod)).toEqual(['shop/pay']); // no cgroup: never cached as enrolled
    const decoded = decodeRestoreCache(encodeRestoreCache('n1', desired), 'n1', ROOT);
    if (!decoded.ok) throw new Error(decoded.error);
    const fromCache = planFor(decoded.desired, facts, empty);
    const fromMesh = run(s);
    // the same plan up to order (the cache keeps its entries sorted)
    const norm = (p: ReconcilePlan): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries({ ...p, skipped: [] }).map(([k, v]) => [
          k,
          v && typeof v === 'object' && 'put' in v
            ? {
                put: [...v.put].map((e) => JSON.stringify(e)).sort(),
                delete: [...v.delete].map((e) => JSON.stringify(e)).sort(),
              }
            : v,
        ]),
      );
    expect(norm(fromCache)).toEqual(norm(fromMesh));
    expect(fromCache.attach.map((a) => `${a.pod} ${a.kind}`)).toEqual([
      'shop/cart connect4',
      'shop/cart connect6',
      'shop/cart sockops',
      'shop/cart strict_ingress',
    ]);
    expect(fromCache.podPolicy.put).toEqual([['10.0.0.4', 'STRICT']]);
    expect(fromCache.meshDst.put).toContainEqual([{ ip: '10.96.0.9', port: 80 }, 'service']);
  });

  it('an agent restart without a reboot: the cache matches the kernel, the plan is empty', () => {
    const kernel = apply(empty, run(s));
    expect(isPlanEmpty(planFor(desiredKernelState(input).desired, facts, kernel))).toBe(true);
  });

  it('the first mesh state after a restore reconciles as usual (a pod gone since is detached)', () => {
    const restored = apply(empty, planFor(desiredKernelState(input).desired, facts, empty));
    const plan = run(state([]), restored);
    expect(plan.detach.map((d) => d.cgroup)).toEqual(Array(4).fill(`${ROOT}/kube/cart`));
    expect(plan.podPolicy.delete).toEqual(['10.0.0.4']);
  });
});
