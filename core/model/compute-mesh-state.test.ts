import { describe, expect, it } from 'vitest';
import { computeMeshState } from './compute-mesh-state.js';
import { validateConfig } from './validate-config.js';
import { formatConfigError } from './config-error.js';
import type { MeshState } from './mesh.js';

const TD = 'cluster.local';

const NS = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const NODE = (name: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});
const SA = (ns: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace: ns },
});
interface PodOpts {
  labels?: Record<string, string>;
  node?: string;
  ip?: string;
  sa?: string;
  ready?: boolean;
  deleting?: boolean;
  owner?: { kind: string; name: string };
  annotations?: Record<string, string>;
  containerPorts?: { name: string; containerPort: number }[];
}
const POD = (ns: string, name: string, o: PodOpts = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: ns,
    labels: o.labels ?? {},
    ...(o.annotations ? { annotations: o.annotations } : {}),
    ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    ...(o.owner ? { ownerReferences: [{ ...o.owner, controller: true }] } : {}),
  },
  spec: {
    nodeName: o.node ?? 'n1',
    ...(o.sa ? { serviceAccountName: o.sa } : {}),
    containers: [{ name: 'main', ports: o.containerPorts ?? [] }],
  },
  status: {
    podIP: o.ip ?? '10.0.0.1',
    ...(o.ready === undefined ? {} : { conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] }),
  },
});
const SVC = (
  ns: string,
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec,
});
const WAYPOINT = (ns: string, name: string, forValue?: string) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: ns, labels: forValue ? { 'ambit.dev/waypoint-for': forValue } : {} },
  spec: { gatewayClassName: 'ambit-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});

function compute(...docs: object[]): MeshState {
  const text = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  const r = validateConfig([{ path: 't.yaml', text }]);
  if (!r.valid) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return computeMeshState(r.result, TD);
}

const base = [NS('shop'), NODE('n1', '192.168.0.1'), NODE('n2', '192.168.0.2')];

describe('computeMeshState: workloads', () => {
  it.each([
    {
      description: 'identity from the service account, defaulting to default',
      docs: [SA('shop', 'cart'), POD('shop', 'a', { sa: 'cart' }), POD('shop', 'b')],
      expect: {
        a: { identity: `spiffe://${TD}/ns/shop/sa/cart` },
        b: { identity: `spiffe://${TD}/ns/shop/sa/default` },
      },
    },
    {
      description: 'enrolled by the namespace label; none on the pod opts out; host-network pods never',
      docs: [
        NS('amb', { 'ambit.dev/dataplane-mode': 'ambient' }),
        POD('amb', 'a'),
        POD('amb', 'b', { labels: { 'ambit.dev/dataplane-mode': 'none' } }),
        POD('shop', 'c'),
        POD('shop', 'd', { labels: { 'ambit.dev/dataplane-mode': 'ambient' } }),
        { ...POD('amb', 'host'), spec: { nodeName: 'n1', hostNetwork: true } },
      ],
      expect: {
        a: { enrolled: true },
        b: { enrolled: false },
        c: { enrolled: false },
        d: { enrolled: true },
        host: { enrolled: false },
      },
    },
    {
      description: 'canonical service and revision with Istio precedence',
      docs: [
        POD('shop', 'a', { labels: { 'service.istio.io/canonical-name': 'cn', app: 'x', version: 'v1' } }),
        POD('shop', 'b', {
          labels: { 'app.kubernetes.io/name': 'kn', app: 'x', 'app.kubernetes.io/version': 'v2' },
        }),
        POD('shop', 'c', { labels: { app: 'x' } }),
        POD('shop', 'web-7d9f8-abcde', { owner: { kind: 'ReplicaSet', name: 'web-7d9f8' } }),
      ],
      expect: {
        a: { canonicalService: 'cn', canonicalRevision: 'v1', app: 'x', version: 'v1' },
        b: { canonicalService: 'kn', canonicalRevision: 'v2', app: 'kn' },
        c: { canonicalService: 'x', canonicalRevision: 'latest', workloadName: 'c' },
        'web-7d9f8-abcde': { canonicalService: 'web', workloadName: 'web', canonicalRevision: 'latest' },
      },
    },
    {
      description: 'readiness and termination',
      docs: [
        POD('shop', 'a', { ready: true }),
        POD('shop', 'b', { ready: false }),
        POD('shop', 'c', { deleting: true }),
        POD('shop', 'd'),
      ],
      expect: {
        a: { ready: true, terminating: false },
        b: { ready: false, terminating: false },
        c: { ready: false, terminating: true },
        d: { ready: true },
      },
    },
    {
      description: 'node, IPs and cgroup path',
      docs: [
        POD('shop', 'a', {
          node: 'n2',
          ip: '10.0.0.7',
          annotations: { 'ambit.dev/cgroup-path': '/sys/fs/cgroup/x' },
        }),
      ],
      expect: { a: { node: 'n2', ips: ['10.0.0.7'], cgroupPath: '/sys/fs/cgroup/x', uid: 'shop/a' } },
    },
    {
      description: 'waypoint for workloads from the pod or namespace, waypointFor on gateway pods',
      docs: [
        NS('wl', { 'ambit.dev/use-waypoint': 'wp' }),
        WAYPOINT('wl', 'wp', 'workload'),
        WAYPOINT('shop', 'svc-only'),
        POD('wl', 'a'),
        POD('wl', 'b', { labels: { 'ambit.dev/use-waypoint': 'none' } }),
        POD('wl', 'gw', { labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } }),
        POD('shop', 'c', { labels: { 'ambit.dev/use-waypoint': 'svc-only' } }),
      ],
      expect: {
        a: { waypoint: { namespace: 'wl', name: 'wp' } },
        b: { waypoint: undefined },
        gw: { waypointFor: { namespace: 'wl', name: 'wp' }, waypoint: undefined },
        // a waypoint-for: service waypoint does not capture traffic addressed to pods directly
        c: { waypoint: undefined },
      },
    },
  ])('$description', ({ docs, expect: want }) => {
    const state = compute(...base, ...docs);
    for (const [name, fields] of Object.entries(want)) {
      const w = state.workloads.find((x) => x.name === name);
      expect(w, name).toBeDefined();
      for (const [k, v] of Object.entries(fields))
        expect((w as unknown as Record<string, unknown>)[k], `${name}.${k}`).toEqual(v);
    }
  });
});

describe('computeMeshState: services, endpoints and health', () => {
  it.each([
    {
      description: 'selector endpoints with numeric and named target ports',
      docs: [
        SVC('shop', 's', {
          selector: { app: 's' },
          clusterIP: '10.96.0.1',
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'grpc', port: 90, targetPort: 'grpc' },
          ],
        }),
        POD('shop', 'a', {
          labels: { app: 's' },
          ip: '10.0.0.1',
          containerPorts: [{ name: 'grpc', containerPort: 9090 }],
        }),
        POD('shop', 'other', { labels: { app: 'x' }, ip: '10.0.0.2' }),
      ],
      service: 's',
      expect: {
        vips: ['10.96.0.1'],
        hostname: 's.shop.svc.cluster.local',
        endpoints: [
          {
            workloadUid: 'shop/a',
            ip: '10.0.0.1',
            node: 'n1',
            ports: { '80': 8080, '90': 9090 },
            ready: true,
            serving: true,
            terminating: false,
          },
        ],
      },
    },
    {
      description: 'not-ready and terminating pods leave load balancing',
      docs: [
        SVC('shop', 's', { selector: { app: 's' }, ports: [{ port: 80 }] }),
        POD('shop', 'a', { labels: { app: 's' }, ip: '10.0.0.1', ready: false }),
        POD('shop', 'b', { labels: { app: 's' }, ip: '10.0.0.2', deleting: true, ready: true }),
      ],
      service: 's',
      expect: {
        endpoints: [
          { ip: '10.0.0.1', ready: false, serving: false, terminating: false },
          { ip: '10.0.0.2', ready: false, serving: true, terminating: true },
        ],
      },
    },
    {
      description: 'headless service has no VIPs; clusterIPs lists both families',
      docs: [
        SVC('shop', 'h', { clusterIP: 'None', ports: [{ port: 80 }] }),
        SVC('shop', 'd', { clusterIPs: ['10.96.0.5', 'fd00::5'], ports: [{ port: 80 }] }),
      ],
      service: 'd',
      expect: { vips: ['10.96.0.5', 'fd00::5'] },
    },
    {
      description: 'EndpointSlice endpoints when the Service has no selector, with their conditions',
      docs: [
        SVC('shop', 'ext', { ports: [{ name: 'http', port: 80 }] }),
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'ext-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'ext' } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [
            { addresses: ['10.9.0.1'], nodeName: 'n2' },
            { addresses: ['10.9.0.2'], conditions: { ready: false, serving: true, terminating: true } },
            { addresses: ['10.9.0.3'], conditions: { ready: false } },
          ],
        },
      ],
      service: 'ext',
      expect: {
        endpoints: [
          {
            ip: '10.9.0.1',
            node: 'n2',
            ports: { '80': 8080 },
            ready: true,
            serving: true,
            terminating: false,
          },
          { ip: '10.9.0.2', ready: false, serving: true, terminating: true },
          { ip: '10.9.0.3', ready: false, serving: false, terminating: false },
        ],
      },
    },
    {
      description: "a Service's use-waypoint overrides its namespace's",
      docs: [
        NS('wp', { 'ambit.dev/use-waypoint': 'ns-wp' }),
        WAYPOINT('wp', 'ns-wp'),
        WAYPOINT('wp', 'svc-wp'),
        SVC('wp', 'a', { ports: [{ port: 80 }] }),
        SVC('wp', 'b', { ports: [{ port: 80 }] }, { 'ambit.dev/use-waypoint': 'svc-wp' }),
        SVC('wp', 'c', { ports: [{ port: 80 }] }, { 'ambit.dev/use-waypoint': 'none' }),
      ],
      services: {
        a: { waypoint: { namespace: 'wp', name: 'ns-wp' } },
        b: { waypoint: { namespace: 'wp', name: 'svc-wp' } },
        c: { waypoint: undefined },
      },
    },
  ])('$description', (tc) => {
    const state = compute(...base, ...tc.docs);
    const checks: Record<string, object> = tc.services ?? { [tc.service]: tc.expect };
    for (const [name, want] of Object.entries(checks)) {
      const svc = state.services.find((s) => s.name === name);
      expect(svc, name).toBeDefined();
      expect(svc).toMatchObject(Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined)));
      for (const [k, v] of Object.entries(want))
        if (v === undefined) expect((svc as unknown as Record<string, unknown>)[k]).toBeUndefined();
    }
  });
});

describe('computeMeshState: nodes, waypoints, policies, routes', () => {
  const state = compute(
    NS('ambit-system'),
    ...base,
    SA('shop', 'wp-sa'),
    WAYPOINT('shop', 'wp', 'all'),
    POD('shop', 'wp-1', {
      sa: 'wp-sa',
      ip: '10.0.0.50',
      node: 'n2',
      labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' },
    }),
    SVC('shop', 'cart', { ports: [{ port: 80 }] }),
    {
      apiVersion: 'security.ambit.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'by-waypoint', namespace: 'shop' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }],
        action: 'DENY',
        rules: [{}],
      },
    },
    {
      apiVersion: 'security.ambit.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'sel', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'a' } } },
    },
    {
      apiVersion: 'security.ambit.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'mesh', namespace: 'ambit-system' },
      spec: {},
    },
    {
      apiVersion: 'security.ambit.dev/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'strict', namespace: 'ambit-system' },
      spec: { mtls: { mode: 'STRICT' } },
    },
    {
      apiVersion: 'security.ambit.dev/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'port', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart' }] },
    },
  );

  it.each([
    [
      'nodes',
      state.nodes,
      [
        { name: 'n1', address: '192.168.0.1', identity: `spiffe://${TD}/ambit/node/n1` },
        { name: 'n2', address: '192.168.0.2', identity: `spiffe://${TD}/ambit/node/n2` },
      ],
    ],
    [
      'waypoints',
      state.waypoints,
      [
        {
          namespace: 'shop',
          name: 'wp',
          for: 'all',
          identity: `spiffe://${TD}/ns/shop/sa/wp-sa`,
          instances: [{ workloadUid: 'shop/wp-1', ip: '10.0.0.50', node: 'n2', ready: true }],
        },
      ],
    ],
    [
      'authorization policies',
      state.authorizationPolicies,
      [
        {
          namespace: 'ambit-system',
          name: 'mesh',
          scope: { kind: 'namespace' },
          action: 'ALLOW',
          rules: [],
          meshWide: true,
          enforcedBy: 'ztunnel',
        },
        {
          namespace: 'shop',
          name: 'by-waypoint',
          scope: {
            kind: 'targetRefs',
            targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }],
          },
          action: 'DENY',
          rules: [{}],
          meshWide: false,
          enforcedBy: 'waypoint',
        },
        {
          namespace: 'shop',
          name: 'sel',
          scope: { kind: 'selector', matchLabels: { app: 'a' } },
          action: 'ALLOW',
          rules: [],
          meshWide: false,
          enforcedBy: 'ztunnel',
        },
      ],
    ],
    [
      'peer authentications',
      state.peerAuthentications,
      [
        { namespace: 'ambit-system', name: 'strict', mode: 'STRICT', portLevelMtls: {}, meshWide: true },
        {
          namespace: 'shop',
          name: 'port',
          mode: 'UNSET',
          selector: { app: 'a' },
          portLevelMtls: { '8080': 'DISABLE' },
          meshWide: false,
        },
      ],
    ],
    [
      'routes',
      state.routes,
      [
        {
          kind: 'HTTPRoute',
          namespace: 'shop',
          name: 'r',
          creationTimestamp: '2026-01-01T00:00:00Z',
          // compiled from spec.parentRefs [{group: '', kind: Service, name: cart}]
          parents: [{ kind: 'Service', namespace: 'shop', name: 'cart' }],
          hostnames: [],
          rules: [],
        },
      ],
    ],
  ])('%s', (_name, got, want) => {
    expect(got).toEqual(want);
  });

  it('is deterministic: equal configs give equal states', () => {
    const docs = [...base, POD('shop', 'b'), POD('shop', 'a', { ip: '10.0.0.2' })];
    expect(compute(...docs)).toEqual(compute(...[...docs].reverse()));
  });
});

describe('computeMeshState: reuse between recomputations', () => {
  it('reuses unchanged workloads and services and recomputes what a changed pod or namespace affects', () => {
    const parse = (...docs: object[]) => {
      const r = validateConfig([
        { path: 't.yaml', text: docs.map((d) => JSON.stringify(d)).join('\n---\n') },
      ]);
      if (!r.valid) throw new Error(r.errors.map(formatConfigError).join('\n'));
      return r.result;
    };
    const cfg = parse(
      ...base,
      SVC('shop', 'a', { selector: { app: 'a' }, ports: [{ port: 80 }] }),
      SVC('shop', 'b', { selector: { app: 'b' }, ports: [{ port: 80 }] }),
      POD('shop', 'a-1', { labels: { app: 'a' }, ip: '10.0.0.1' }),
      POD('shop', 'b-1', { labels: { app: 'b' }, ip: '10.0.0.2' }),
    );
    const s1 = computeMeshState(cfg, TD);
    // same objects again: everything reused
    const s2 = computeMeshState(cfg, TD);
    expect(s2.workloads[0]).toBe(s1.workloads[0]);
    expect(s2.services[0]).toBe(s1.services[0]);
    // pod a-1 replaced by a not-ready one: its workload and service a change, b is reused
    const notReady = parse(
      ...base,
      POD('shop', 'a-1', { labels: { app: 'a' }, ip: '10.0.0.1', ready: false }),
    ).Pod[0]!;
    const s3 = computeMeshState({ ...cfg, Pod: [notReady, cfg.Pod[1]!] }, TD);
    expect(s3.services.find((s) => s.name === 'a')!.endpoints[0]!.ready).toBe(false);
    expect(s3.services.find((s) => s.name === 'b')).toBe(s1.services.find((s) => s.name === 'b'));
    expect(s3.workloads.find((w) => w.name === 'b-1')).toBe(s1.workloads.find((w) => w.name === 'b-1'));
    // the namespace turns ambient: workloads recompute
    const ambientNs = parse(NS('shop', { 'ambit.dev/dataplane-mode': 'ambient' })).Namespace[0]!;
    const s4 = computeMeshState({ ...cfg, Namespace: [ambientNs] }, TD);
    expect(s4.workloads.every((w) => w.enrolled)).toBe(true);
    expect(s1.workloads.every((w) => !w.enrolled)).toBe(true);
  });
});
