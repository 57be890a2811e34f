// The decoders at the discovery edge: every record the controller computes from a config using
// every record kind decodes to itself, and broken records are refused with their type, key and
// field path (what the subscriber's NACK carries).
import { describe, expect, it } from 'vitest';
import { computeMeshState } from '../model/compute-mesh-state.js';
import { formatConfigError } from '../model/config-error.js';
import { MESH_RESOURCE_TYPES, type MeshResourceType, type MeshState } from '../model/mesh.js';
import { validateConfig } from '../model/validate-config.js';
import { decodeRecord, RECORD_DECODERS } from './record-decoders.js';
import { meshStateToView, recordsOf, resourceKey, splitViewKey } from './mesh-resources.js';
import { viewFor } from './view-for.js';

const CONFIG = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ambit-system' } },
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
  },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }] },
  },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'wp-sa', namespace: 'shop' } },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'wp', namespace: 'shop', labels: { 'ambit.dev/waypoint-for': 'all' } },
    spec: {
      gatewayClassName: 'ambit-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'wp-1',
      namespace: 'shop',
      uid: 'u-wp',
      labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' },
    },
    spec: { nodeName: 'n1', serviceAccountName: 'wp-sa' },
    status: { podIP: '10.0.0.50' },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'a', namespace: 'shop', uid: 'u-a', labels: { app: 'a', version: 'v1' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { podIP: '10.0.0.1' },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'a', namespace: 'shop', labels: { 'ambit.dev/use-waypoint': 'wp' } },
    spec: { clusterIP: '10.96.0.1', selector: { app: 'a' }, ports: [{ port: 80, targetPort: 'http' }] },
  },
  {
    apiVersion: 'security.ambit.dev/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'sel', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'a' } },
      rules: [
        {
          from: [{ source: { principals: ['x'] } }],
          to: [{ operation: { ports: ['80'] } }],
          when: [{ key: 'k', values: ['v'] }],
        },
      ],
    },
  },
  {
    apiVersion: 'security.ambit.dev/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'at-wp', namespace: 'shop' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }],
      action: 'DENY',
      rules: [{}],
    },
  },
  {
    apiVersion: 'security.ambit.dev/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'p', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'a' } },
      mtls: { mode: 'STRICT' },
      portLevelMtls: { '8080': { mode: 'DISABLE' } },
    },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'r', namespace: 'shop' },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'a' }],
      rules: [
        {
          matches: [{ path: { type: 'Exact', value: '/x' }, headers: [{ name: 'h', value: 'v' }] }],
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } },
          ],
          backendRefs: [{ name: 'a', port: 80, weight: 2 }],
          timeouts: { request: '2s' },
        },
      ],
    },
  },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { name: 'g', namespace: 'shop' },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'a' }],
      rules: [{ matches: [{ method: { service: 'pkg.Svc' } }], backendRefs: [{ name: 'a', port: 80 }] }],
    },
  },
  {
    apiVersion: 'networking.ambit.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name: 'tp', namespace: 'shop' },
    spec: {
      targetRefs: [{ group: '', kind: 'Service', name: 'a' }],
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { tcp: { idleTimeout: '1m' } },
      fault: { abort: { httpStatus: 503, percentage: { value: 5 } } },
    },
  },
  {
    apiVersion: 'networking.ambit.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name: 'tp-hash', namespace: 'shop' },
    spec: {
      targetRefs: [{ group: '', kind: 'Service', name: 'a' }],
      loadBalancer: { consistentHash: { httpCookie: { name: 'session' } } },
      retry: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx,409', backoff: { baseInterval: '10ms' } },
    },
  },
];

function state() {
  const v = validateConfig([
    { path: 'mesh.yaml', text: CONFIG.map((d) => JSON.stringify(d)).join('\n---\n') },
  ]);
  if (!v.valid) throw new Error(v.errors.map(formatConfigError).join('\n'));
  return computeMeshState(v.result, 'cluster.local');
}

/** The whole state, with an agent's mesh destinations (they exist only in agent views). */
function withDestinations(whole: MeshState): MeshState {
  return {
    ...whole,
    meshDestinations: viewFor({ kind: 'agent', node: 'elsewhere' }, whole).meshDestinations,
  };
}

describe('record decoders', () => {
  it('has a decoder for every record kind', () => {
    expect(Object.keys(RECORD_DECODERS).sort()).toEqual([...MESH_RESOURCE_TYPES].sort());
  });

  it('decodes every record the controller computes back to itself', () => {
    const s = withDestinations(state());
    for (const type of MESH_RESOURCE_TYPES) expect(recordsOf(s, type).length, type).toBeGreaterThan(0);
    const view = meshStateToView(s);
    for (const [k, json] of view) {
      const { type, key } = splitViewKey(k);
      const d = decodeRecord(type as MeshResourceType, key, json);
      expect(d, k).toEqual({ valid: true, record: JSON.parse(json) as unknown });
    }
    expect(view.size).toBe(MESH_RESOURCE_TYPES.reduce((n, t) => n + recordsOf(s, t).length, 0));
  });

  it('drops fields it does not know (a newer controller may add some)', () => {
    const node = { name: 'n1', address: '192.168.0.1', identity: 'spiffe://td/ambit/node/n1', zone: 'z' };
    expect(decodeRecord('node', 'n1', JSON.stringify(node))).toEqual({
      valid: true,
      record: { name: 'n1', address: '192.168.0.1', identity: 'spiffe://td/ambit/node/n1' },
    });
  });

  const good = withDestinations(state());
  const json = <T extends MeshResourceType>(type: T, patch: (r: Record<string, unknown>) => void) => {
    const r = structuredClone(recordsOf(good, type)[0]) as unknown as Record<string, unknown>;
    patch(r);
    return JSON.stringify(r);
  };
  const keyOf = (type: MeshResourceType) => {
    const r = recordsOf(good, type)[0];
    if (r === undefined) throw new Error(type);
    return resourceKey(type, r as never);
  };

  it.each(['InvalidKind', 'RefNotPermitted', 'BackendNotFound'])(
    'keeps a route backend marked invalid: %s (its share of requests answers 500)',
    (reason) => {
      const bytes = json('route', (r) => {
        (r.rules as [{ backendRefs: [Record<string, unknown>] }])[0].backendRefs[0].invalid = reason;
      });
      expect(decodeRecord('route', keyOf('route'), bytes)).toEqual({
        valid: true,
        record: JSON.parse(bytes),
      });
    },
  );

  it.each<{ description: string; type: MeshResourceType; bytes: () => string; errors: string[] }>([
    {
      description: 'not JSON',
      type: 'node',
      bytes: () => '{',
      errors: [expect.stringMatching(/^node "n1": not JSON/)],
    },
    {
      description: 'a workload with a missing field and a mistyped IP list: every problem, with its path',
      type: 'workload',
      bytes: () =>
        json('workload', (r) => {
          delete r.identity;
          r.ips = ['10.0.0.1', 7];
        }),
      errors: [
        'workload "u-a": identity: required',
        'workload "u-a": ips[1]: must be a string, got number 7',
      ],
    },
    {
      description: 'a service endpoint port that is not a number',
      type: 'service',
      bytes: () =>
        json('service', (r) => {
          (r.endpoints as [{ ports: Record<string, unknown> }])[0].ports['80'] = '8080';
        }),
      errors: ['service "shop/a": endpoints[0].ports["80"]: must be a number, got string "8080"'],
    },
    {
      description: 'an authorization policy scope of an unknown kind',
      type: 'authorization-policy',
      bytes: () => json('authorization-policy', (r) => void (r.scope = { kind: 'everything' })),
      errors: [expect.stringMatching(/^authorization-policy "shop\/at-wp": scope\.kind: /)],
    },
    {
      description: 'a peer authentication with an unknown mode',
      type: 'peer-authentication',
      bytes: () => json('peer-authentication', (r) => void (r.mode = 'MAYBE')),
      errors: [expect.stringMatching(/^peer-authentication "shop\/p": mode: /)],
    },
    {
      description: 'a route backend without a port',
      type: 'route',
      bytes: () =>
        json('route', (r) => {
          delete (r.rules as [{ backendRefs: [Record<string, unknown>] }])[0].backendRefs[0].port;
        }),
      errors: ['route "GRPCRoute/shop/g": rules[0].backendRefs[0].port: required'],
    },
    {
      description: 'a route backend marked invalid for a reason route status does not give',
      type: 'route',
      bytes: () =>
        json('route', (r) => {
          (r.rules as [{ backendRefs: [Record<string, unknown>] }])[0].backendRefs[0].invalid = 'Gone';
        }),
      errors: [expect.stringMatching(/^route "GRPCRoute\/shop\/g": rules\[0\]\.backendRefs\[0\]\.invalid: /)],
    },
    {
      description: 'a traffic policy with a negative idle timeout and a string load balancer list',
      type: 'traffic-policy',
      bytes: () =>
        json('traffic-policy', (r) => {
          r.connectionPool = { tcp: { idleTimeoutMs: -1 } };
          r.services = 'shop/a';
        }),
      errors: [
        'traffic-policy "shop/tp": services: must be a list, got string "shop/a"',
        expect.stringMatching(/^traffic-policy "shop\/tp": connectionPool\.tcp\.idleTimeoutMs: /),
      ],
    },
    {
      description: 'a mesh destination without a uid and with one IP instead of a list',
      type: 'mesh-destination',
      bytes: () =>
        json('mesh-destination', (r) => {
          r.uid = '';
          r.ips = '10.0.0.1';
        }),
      errors: [
        expect.stringMatching(/^mesh-destination "u-a": uid: /),
        'mesh-destination "u-a": ips: must be a list, got string "10.0.0.1"',
      ],
    },
    {
      description: 'a waypoint record that is a list',
      type: 'waypoint',
      bytes: () => '[]',
      errors: ['waypoint "shop/wp": (record): must be a mapping, got a list'],
    },
  ])('$description', ({ type, bytes, errors }) => {
    expect(decodeRecord(type, keyOf(type), bytes())).toEqual({ valid: false, errors });
  });
});
