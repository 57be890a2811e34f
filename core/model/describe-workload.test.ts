import { describe, expect, it } from 'vitest';
import { describeWorkload } from './describe-workload.js';
import type { MeshAuthorizationPolicy, MeshState, Workload } from './mesh.js';

const w = (name: string, labels: Record<string, string>, extra: Partial<Workload> = {}): Workload =>
  ({
    uid: `shop/${name}`,
    namespace: 'shop',
    name,
    serviceAccount: name,
    identity: `spiffe://td/ns/shop/sa/${name}`,
    node: 'n1',
    ips: ['10.0.0.1'],
    labels,
    enrolled: true,
    ready: true,
    terminating: false,
    ...extra,
  }) as Workload;

const policy = (
  namespace: string,
  name: string,
  scope: MeshAuthorizationPolicy['scope'],
): MeshAuthorizationPolicy => ({
  namespace,
  name,
  scope,
  action: 'ALLOW',
  rules: [],
  meshWide: namespace === 'ambit-system',
  enforcedBy: scope.kind === 'targetRefs' ? 'waypoint' : 'ztunnel',
});

const STATE: MeshState = {
  trustDomain: 'td',
  workloads: [w('cart', { app: 'cart' }), w('web', { app: 'web' })],
  meshDestinations: [],
  nodes: [],
  services: [
    {
      namespace: 'shop',
      name: 'cart',
      hostname: 'cart.shop.svc.cluster.local',
      vips: ['10.96.0.1'],
      ports: [],
      labels: {},
      endpoints: [
        {
          workloadUid: 'shop/cart',
          ip: '10.0.0.1',
          node: 'n1',
          ports: {},
          ready: true,
          serving: true,
          terminating: false,
        },
      ],
      waypoint: { namespace: 'shop', name: 'wp' },
    },
  ],
  waypoints: [],
  authorizationPolicies: [
    policy('shop', 'ns-wide', { kind: 'namespace' }),
    policy('shop', 'sel-cart', { kind: 'selector', matchLabels: { app: 'cart' } }),
    policy('shop', 'sel-web', { kind: 'selector', matchLabels: { app: 'web' } }),
    policy('shop', 'svc', { kind: 'targetRefs', targetRefs: [{ group: '', kind: 'Service', name: 'cart' }] }),
    policy('shop', 'gw', {
      kind: 'targetRefs',
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }],
    }),
    policy('other', 'elsewhere', { kind: 'namespace' }),
    policy('ambit-system', 'mesh', { kind: 'namespace' }),
  ],
  peerAuthentications: [
    { namespace: 'shop', name: 'strict', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
  ],
  routes: [],
  trafficPolicies: [],
};

describe('describeWorkload', () => {
  it.each([
    ['cart', ['gw', 'mesh', 'ns-wide', 'sel-cart', 'svc'], ['cart']],
    ['web', ['mesh', 'ns-wide', 'sel-web'], []],
  ])('%s: policies %j, services %j', (name, policies, services) => {
    const d = describeWorkload(STATE, 'shop', name)!;
    expect(d.policies.map((p) => p.name).sort()).toEqual(policies);
    expect(d.services.map((s) => s.name)).toEqual(services);
    expect(d.mtlsMode).toBe('STRICT');
    expect(d.identity).toBe(`spiffe://td/ns/shop/sa/${name}`);
  });

  it('says where each policy is enforced and why it applies', () => {
    const d = describeWorkload(STATE, 'shop', 'cart')!;
    expect(d.policies.find((p) => p.name === 'gw')).toMatchObject({
      enforcedBy: 'waypoint',
      via: 'targetRef waypoint Gateway wp',
    });
    expect(d.policies.find((p) => p.name === 'mesh')).toMatchObject({
      enforcedBy: 'ztunnel',
      via: 'mesh-wide (root namespace)',
    });
  });

  it('returns undefined for an unknown pod', () => {
    expect(describeWorkload(STATE, 'shop', 'ghost')).toBeUndefined();
  });
});
