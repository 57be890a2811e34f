// viewFor as a table: for each subscriber, the keys of every record type it receives from one
// mesh computed by the real controller pipeline (validateConfig -> computeMeshState).
import { describe, expect, it } from 'vitest';
import { computeMeshState } from '../model/compute-mesh-state.js';
import { formatConfigError } from '../model/config-error.js';
import { MESH_RESOURCE_TYPES, type MeshResourceType, type MeshState } from '../model/mesh.js';
import { validateConfig } from '../model/validate-config.js';
import { recordsOf, resourceKey } from './mesh-resources.js';
import { viewCacheKey, viewFor, type MeshSubscriber } from './view-for.js';

const ns = (name: string, ambient: boolean) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...(ambient ? { labels: { 'ambit.dev/dataplane-mode': 'ambient' } } : {}) },
});
const node = (name: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});
const pod = (
  namespace: string,
  name: string,
  nodeName: string,
  ip: string,
  labels: Record<string, string>,
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { nodeName },
  status: { podIP: ip },
});
const svc = (
  namespace: string,
  name: string,
  ip: string,
  app: string,
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
  spec: { clusterIP: ip, selector: { app }, ports: [{ port: 80 }] },
});
const route = (name: string, parent: string, backends: string[]) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'shop' },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: parent }],
    rules: [{ backendRefs: backends.map((b) => ({ name: b, port: 80 })) }],
  },
});
const authz = (name: string, spec: object) => ({
  apiVersion: 'security.ambit.dev/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: 'shop' },
  spec,
});
const trafficPolicy = (name: string, service: string) => ({
  apiVersion: 'networking.ambit.dev/v1alpha1',
  kind: 'TrafficPolicy',
  metadata: { name, namespace: 'shop' },
  spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], loadBalancer: { simple: 'RANDOM' } },
});

// shop (ambient): cart uses waypoint gw and routes 90/10 to cart and cart-v2 (which does not use
// it); pay uses no waypoint. legacy is outside the mesh. Four nodes, the waypoint's pod on n4.
const MESH = [
  ns('ambit-system', false),
  ns('shop', true),
  ns('legacy', false),
  node('n1', '192.168.0.1'),
  node('n2', '192.168.0.2'),
  node('n3', '192.168.0.3'),
  node('n4', '192.168.0.4'),
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw', namespace: 'shop' },
    spec: {
      gatewayClassName: 'ambit-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  },
  pod('shop', 'gw-1', 'n4', '10.0.4.1', {
    'gateway.networking.k8s.io/gateway-name': 'gw',
    'ambit.dev/dataplane-mode': 'none',
  }),
  pod('shop', 'cart-1', 'n1', '10.0.1.1', { app: 'cart' }),
  pod('shop', 'cartv2-1', 'n2', '10.0.2.1', { app: 'cart-v2' }),
  pod('shop', 'pay-1', 'n3', '10.0.3.1', { app: 'pay' }),
  pod('legacy', 'old-1', 'n1', '10.0.1.9', { app: 'old' }),
  svc('shop', 'cart', '10.96.0.1', 'cart', { 'ambit.dev/use-waypoint': 'gw' }),
  svc('shop', 'cart-v2', '10.96.0.2', 'cart-v2'),
  svc('shop', 'pay', '10.96.0.3', 'pay'),
  svc('legacy', 'old', '10.96.0.9', 'old'),
  route('split', 'cart', ['cart', 'cart-v2']),
  route('pay-route', 'pay', ['pay']),
  authz('at-gw', { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }] }),
  authz('at-cart', { targetRefs: [{ group: '', kind: 'Service', name: 'cart' }] }),
  authz('at-pay', { targetRefs: [{ group: '', kind: 'Service', name: 'pay' }] }),
  authz('sel', { selector: { matchLabels: { app: 'pay' } } }),
  {
    apiVersion: 'security.ambit.dev/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'strict', namespace: 'ambit-system' },
    spec: { mtls: { mode: 'STRICT' } },
  },
  trafficPolicy('tp-cartv2', 'cart-v2'),
  trafficPolicy('tp-pay', 'pay'),
];

function meshState(): MeshState {
  const v = validateConfig([{ path: 'mesh.yaml', text: MESH.map((d) => JSON.stringify(d)).join('\n---\n') }]);
  if (!v.valid) throw new Error(v.errors.map(formatConfigError).join('\n'));
  return computeMeshState(v.result, 'cluster.local');
}

type Keys = { readonly [T in MeshResourceType]: string[] };

function keysOf(s: MeshState): Keys {
  const out = {} as Record<MeshResourceType, string[]>;
  for (const t of MESH_RESOURCE_TYPES) out[t] = recordsOf(s, t).map((r) => resourceKey(t, r as never));
  return out;
}

const ALL_SERVICES = ['legacy/old', 'shop/cart', 'shop/cart-v2', 'shop/pay'];
const NOTHING: Keys = {
  workload: [],
  'mesh-destination': [],
  node: [],
  service: [],
  waypoint: [],
  'authorization-policy': [],
  'peer-authentication': [],
  route: [],
  'traffic-policy': [],
};

describe('viewFor', () => {
  const state = meshState();

  it.each<{ description: string; subscriber: MeshSubscriber; want: Keys }>([
    {
      description:
        'an agent gets its own node’s pods (the unenrolled too, for the pod start gate), the other enrolled pods as mesh destinations, Service addresses, PeerAuthentications',
      subscriber: { kind: 'agent', node: 'n1' },
      want: {
        ...NOTHING,
        workload: ['legacy/old-1', 'shop/cart-1'],
        'mesh-destination': ['shop/cartv2-1', 'shop/pay-1'],
        service: ALL_SERVICES,
        'peer-authentication': ['ambit-system/strict'],
      },
    },
    {
      description: 'an agent on another node: its own pod in full, the rest as destinations',
      subscriber: { kind: 'agent', node: 'n2' },
      want: {
        ...NOTHING,
        workload: ['shop/cartv2-1'],
        'mesh-destination': ['shop/cart-1', 'shop/pay-1'],
        service: ALL_SERVICES,
        'peer-authentication': ['ambit-system/strict'],
      },
    },
    {
      description:
        'an agent whose node runs no enrolled pod: the waypoint’s pod (not enrolled) and the destinations',
      subscriber: { kind: 'agent', node: 'n4' },
      want: {
        ...NOTHING,
        workload: ['shop/gw-1'],
        'mesh-destination': ['shop/cart-1', 'shop/cartv2-1', 'shop/pay-1'],
        service: ALL_SERVICES,
        'peer-authentication': ['ambit-system/strict'],
      },
    },
    {
      description:
        'a ztunnel: every destination (all workloads, services, nodes, waypoints), its policies, no routes',
      subscriber: { kind: 'ztunnel', node: 'n1' },
      want: {
        workload: ['legacy/old-1', 'shop/cart-1', 'shop/cartv2-1', 'shop/gw-1', 'shop/pay-1'],
        'mesh-destination': [],
        node: ['n1', 'n2', 'n3', 'n4'],
        service: ALL_SERVICES,
        waypoint: ['shop/gw'],
        'authorization-policy': ['shop/sel'],
        'peer-authentication': ['ambit-system/strict'],
        route: [],
        'traffic-policy': ['shop/tp-cartv2', 'shop/tp-pay'],
      },
    },
    {
      description:
        'a waypoint: its services, their route and its backends, their endpoints and nodes, itself, its policies',
      subscriber: { kind: 'waypoint', name: 'shop/gw' },
      want: {
        workload: ['shop/cart-1', 'shop/cartv2-1', 'shop/gw-1'],
        'mesh-destination': [],
        node: ['n1', 'n2', 'n4'],
        service: ['shop/cart', 'shop/cart-v2'],
        waypoint: ['shop/gw'],
        'authorization-policy': ['shop/at-cart', 'shop/at-gw'],
        'peer-authentication': [],
        route: ['HTTPRoute/shop/split'],
        'traffic-policy': ['shop/tp-cartv2'],
      },
    },
    {
      description: 'a waypoint the config does not hold gets nothing (the controller refuses it anyway)',
      subscriber: { kind: 'waypoint', name: 'shop/other' },
      want: NOTHING,
    },
  ])('$description', ({ subscriber, want }) => {
    expect(keysOf(viewFor(subscriber, state))).toEqual(want);
  });

  it('the full state holds more than any one view', () => {
    expect(keysOf(state).route).toEqual(['HTTPRoute/shop/pay-route', 'HTTPRoute/shop/split']);
    expect(keysOf(state)['authorization-policy']).toEqual([
      'shop/at-cart',
      'shop/at-gw',
      'shop/at-pay',
      'shop/sel',
    ]);
  });

  it('hands records through as the same objects; the agent’s Services are one projection without endpoints', () => {
    const zt = viewFor({ kind: 'ztunnel', node: 'n1' }, state);
    expect(zt.workloads).toBe(state.workloads);
    expect(zt.services).toBe(state.services);
    const agent = viewFor({ kind: 'agent', node: 'n1' }, state);
    const cart = state.services.find((s) => s.name === 'cart');
    const agentCart = agent.services.find((s) => s.name === 'cart');
    expect(cart?.endpoints.length).toBe(1);
    expect(agentCart).toEqual({ ...cart, endpoints: [] });
    // memoised: a second view shares the projection (and so its cached wire encoding)
    expect(viewFor({ kind: 'agent', node: 'n2' }, state).services.find((s) => s.name === 'cart')).toBe(
      agentCart,
    );
  });

  it('an agent’s mesh destinations are the other pods’ IPs, one projection per workload shared by every agent', () => {
    const pay = state.workloads.find((w) => w.name === 'pay-1');
    const fromN1 = viewFor({ kind: 'agent', node: 'n1' }, state).meshDestinations.find(
      (d) => d.uid === pay?.uid,
    );
    expect(fromN1).toEqual({ uid: pay?.uid, ips: ['10.0.3.1'] });
    expect(
      viewFor({ kind: 'agent', node: 'n2' }, state).meshDestinations.find((d) => d.uid === pay?.uid),
    ).toBe(fromN1);
  });

  it.each<MeshSubscriber>([
    { kind: 'agent', node: 'n1' },
    { kind: 'agent', node: 'n4' },
    { kind: 'ztunnel', node: 'n1' },
  ])('viewFor of a view is that view: %j', (subscriber) => {
    const view = viewFor(subscriber, state);
    expect(viewFor(subscriber, view)).toEqual(view);
  });

  it.each<[MeshSubscriber, MeshSubscriber]>([
    [
      { kind: 'agent', node: 'n1' },
      { kind: 'agent', node: 'n1' },
    ],
    [
      { kind: 'ztunnel', node: 'n1' },
      { kind: 'ztunnel', node: 'n4' },
    ],
  ])('subscribers sharing a cache key get equal views: %j and %j', (a, b) => {
    expect(viewCacheKey(a)).toBe(viewCacheKey(b));
    expect(viewFor(a, state)).toEqual(viewFor(b, state));
  });

  it('subscribers of different kinds, agents of different nodes or different waypoints never share a cache key', () => {
    const keys = (
      [
        { kind: 'agent', node: 'n1' },
        { kind: 'agent', node: 'n3' },
        { kind: 'ztunnel', node: 'n1' },
        { kind: 'waypoint', name: 'shop/gw' },
        { kind: 'waypoint', name: 'shop/other' },
      ] satisfies MeshSubscriber[]
    ).map(viewCacheKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
