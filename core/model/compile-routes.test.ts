// Routes and TrafficPolicies go through the real validator and come out as the compiled records
// subscribers receive: references resolved, Gateway API defaults filled in, durations in ms.
import { describe, expect, it } from 'vitest';
import { compileRoute } from './compile-routes.js';
import { computeMeshState } from './compute-mesh-state.js';
import { routeWorldOf } from './route-problems.js';
import { EXT, gateway, service } from './route-fixture.js';
import { formatConfigError } from './config-error.js';
import { emptyConfig, validateConfig } from './validate-config.js';
import type { MeshBackendRef, MeshRoute, MeshRouteParent, MeshTrafficPolicy } from './mesh.js';
import type { GrpcRoute } from './resources/grpc-route.js';
import type { HttpRoute } from './resources/http-route.js';
import type { Service } from './resources/service.js';
// test only: the status the controller shows for the same input (core does not import controller/)
import { routeStatuses } from '../../controller/route-status.js';

const BASE = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'cart', namespace: 'shop' },
    spec: {
      clusterIP: '10.96.0.1',
      ports: [
        { name: 'http', port: 80 },
        { name: 'alt', port: 8080 },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'cart-v2', namespace: 'other' },
    spec: { clusterIP: '10.96.0.2', ports: [{ port: 80 }] },
  },
];

function compiled(...docs: object[]) {
  const v = validateConfig([
    { path: 't.yaml', text: [...BASE, ...docs].map((d) => JSON.stringify(d)).join('\n---\n') },
  ]);
  if (!v.valid) throw new Error(v.errors.map(formatConfigError).join('\n'));
  return computeMeshState(v.result, 'cluster.local');
}

const httpRoute = (spec: object) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'r', namespace: 'shop' },
  spec,
});

describe('compileRoute', () => {
  it.each<{ description: string; route: object; want: MeshRoute }>([
    {
      description: 'a rule without matches gets PathPrefix /; a backend gets weight 1 and its namespace',
      route: httpRoute({
        parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }],
        rules: [{ backendRefs: [{ name: 'cart', port: 8080 }] }],
      }),
      want: {
        kind: 'HTTPRoute',
        namespace: 'shop',
        name: 'r',
        parents: [{ kind: 'Service', namespace: 'shop', name: 'cart', port: 80 }],
        hostnames: [],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            filters: [],
            backendRefs: [{ namespace: 'shop', name: 'cart', port: 8080, weight: 1, filters: [] }],
          },
        ],
      },
    },
    {
      description:
        'weights, timeouts and retry backoff in ms, matches kept; a cross-namespace backend is kept, marked RefNotPermitted',
      route: httpRoute({
        parentRefs: [{ group: '', kind: 'Service', name: 'cart' }],
        hostnames: ['cart.shop'],
        rules: [
          {
            name: 'split',
            matches: [{ path: { type: 'Exact', value: '/a' }, method: 'GET' }],
            backendRefs: [
              { name: 'cart', port: 80, weight: 90 },
              { name: 'cart-v2', namespace: 'other', port: 80, weight: 0 },
            ],
            timeouts: { request: '1m30s', backendRequest: '500ms' },
            retry: { attempts: 2, codes: [503], backoff: '100ms' },
          },
        ],
      }),
      want: {
        kind: 'HTTPRoute',
        namespace: 'shop',
        name: 'r',
        parents: [{ kind: 'Service', namespace: 'shop', name: 'cart' }],
        hostnames: ['cart.shop'],
        rules: [
          {
            name: 'split',
            matches: [{ path: { type: 'Exact', value: '/a' }, method: 'GET' }],
            filters: [],
            backendRefs: [
              { namespace: 'shop', name: 'cart', port: 80, weight: 90, filters: [] },
              {
                namespace: 'other',
                name: 'cart-v2',
                port: 80,
                weight: 0,
                filters: [],
                invalid: 'RefNotPermitted',
              },
            ],
            timeouts: { requestMs: 90_000, backendRequestMs: 500 },
            retry: { attempts: 2, codes: [503], backoffMs: 100 },
          },
        ],
      },
    },
    {
      description: 'a GRPCRoute rule without matches keeps none (matches every call)',
      route: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata: { name: 'g', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name: 'cart' }],
          rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }],
        },
      },
      want: {
        kind: 'GRPCRoute',
        namespace: 'shop',
        name: 'g',
        creationTimestamp: '2026-01-01T00:00:00Z',
        parents: [{ kind: 'Service', namespace: 'shop', name: 'cart' }],
        hostnames: [],
        rules: [
          {
            matches: [],
            filters: [],
            backendRefs: [{ namespace: 'shop', name: 'cart', port: 80, weight: 1, filters: [] }],
          },
        ],
      },
    },
  ])('$description', ({ route, want }) => {
    expect(compiled(route).routes).toEqual([want]);
  });
});

describe('compileTrafficPolicy', () => {
  const policy = (name: string, spec: object) => ({
    apiVersion: 'networking.ambit.dev/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: 'shop' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: 'cart' }], ...spec },
  });

  it.each<{ description: string; spec: object; want: MeshTrafficPolicy }>([
    {
      description: 'only targets: no optional section appears',
      spec: {},
      want: { namespace: 'shop', name: 'p', services: ['shop/cart'] },
    },
    {
      description: 'every section, durations in ms',
      spec: {
        loadBalancer: { simple: 'LEAST_REQUEST' },
        connectionPool: {
          tcp: { maxConnections: 10, connectTimeout: '2s', idleTimeout: '1m' },
          http: { http2MaxRequests: 5, idleTimeout: '30s' },
        },
        outlierDetection: { consecutive5xxErrors: 3, interval: '10s', baseEjectionTime: '30s' },
        retryBudget: { percent: 20 },
        fault: {
          delay: { percentage: { value: 50 }, fixedDelay: '250ms' },
          abort: { httpStatus: 503 },
        },
      },
      want: {
        namespace: 'shop',
        name: 'p',
        services: ['shop/cart'],
        loadBalancer: 'LEAST_REQUEST',
        connectionPool: {
          tcp: { maxConnections: 10, connectTimeoutMs: 2000, idleTimeoutMs: 60_000 },
          http: { http2MaxRequests: 5, idleTimeoutMs: 30_000 },
        },
        outlierDetection: { consecutive5xxErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000 },
        retryBudget: { percent: 20 },
        fault: { delay: { percent: 50, fixedDelayMs: 250 }, abort: { httpStatus: 503 } },
      },
    },
    {
      description: "retry with only attempts: Envoy's defaults filled in",
      spec: { retry: { attempts: 3 } },
      want: {
        namespace: 'shop',
        name: 'p',
        services: ['shop/cart'],
        retry: {
          attempts: 3,
          retryOn: ['5xx', 'reset', 'connect-failure', 'refused-stream', 'unavailable'],
          retriableStatusCodes: [],
          baseIntervalMs: 25,
          maxIntervalMs: 250,
          retryNonIdempotent: false,
        },
      },
    },
    {
      description: 'retry with every field: status codes in retryOn join retriableStatusCodes, ms durations',
      spec: {
        retry: {
          attempts: 2,
          perTryTimeout: '500ms',
          retryOn: 'gateway-error, 409,retriable-status-codes,unavailable,503',
          retriableStatusCodes: [429, 503],
          backoff: { baseInterval: '10ms', maxInterval: '1s' },
          retryNonIdempotent: true,
        },
      },
      want: {
        namespace: 'shop',
        name: 'p',
        services: ['shop/cart'],
        retry: {
          attempts: 2,
          perTryTimeoutMs: 500,
          retryOn: ['gateway-error', 'retriable-status-codes', 'unavailable'],
          retriableStatusCodes: [409, 429, 503],
          baseIntervalMs: 10,
          maxIntervalMs: 1000,
          retryNonIdempotent: true,
        },
      },
    },
    {
      description: 'consistent hash on a header (name lowercased, as Node delivers headers)',
      spec: { loadBalancer: { consistentHash: { httpHeaderName: 'X-User' } } },
      want: { namespace: 'shop', name: 'p', services: ['shop/cart'], consistentHash: { header: 'x-user' } },
    },
    {
      description: 'consistent hash on a cookie',
      spec: { loadBalancer: { consistentHash: { httpCookie: { name: 'session' } } } },
      want: { namespace: 'shop', name: 'p', services: ['shop/cart'], consistentHash: { cookie: 'session' } },
    },
  ])('$description', ({ spec, want }) => {
    const state = compiled(policy('p', spec));
    expect(state.trafficPolicies).toEqual([want]);
    // TrafficPolicies are their own record kind now, not routes
    expect(state.routes).toEqual([]);
  });
});

// One fixture, two readers: route status (controller/route-status.ts, what `ambit status` shows)
// and the compiled route (what the waypoint receives) come from the same predicates
// (route-problems.ts), so for the same input a parent that is not Accepted is not attached, a
// dropped rule (PartiallyInvalid, or every rule: Accepted=False) is not compiled, an unresolved
// backendRef is kept but marked with its ResolvedRefs reason (its share answers 500) and an
// unresolved RequestMirror target is not mirrored to.
describe('compiled routes agree with route status', () => {
  const CLUSTER_IP = '10.96.0.9';
  const SERVICES = [
    service('shop', 'cart', [{ port: 8080, name: 'http' }], CLUSTER_IP),
    service('shop', 'cart-v2', [{ port: 8080 }], CLUSTER_IP),
    service('pay', 'pay', [{ port: 8080 }], CLUSTER_IP),
  ];
  const GATEWAYS = [gateway('shop', 'waypoint', 'ambit-waypoint'), gateway('shop', 'edge', 'istio')];
  const CART = { group: '', kind: 'Service', name: 'cart' };
  const MIRROR_GHOST = {
    type: 'RequestMirror' as const,
    requestMirror: { backendRef: { name: 'ghost', port: 80 } },
  };
  const MIRROR_V2 = {
    type: 'RequestMirror' as const,
    requestMirror: { backendRef: { name: 'cart-v2', port: 8080 } },
  };
  const ok = (port = 8080) => ({ namespace: 'shop', name: 'cart', port, weight: 1, filters: [] });
  const cartParent: MeshRouteParent = { kind: 'Service', namespace: 'shop', name: 'cart' };

  /** Every rule is named, so the check below can tell which rules status drops. */
  const CASES: {
    description: string;
    kind?: 'GRPCRoute';
    spec: HttpRoute['spec'];
    status: string[][];
    parents: MeshRouteParent[];
    rules: { name: string; backendRefs: MeshBackendRef[]; filters?: object[] }[];
  }[] = [
    {
      description: 'everything resolves: attached, every backend plain',
      spec: { parentRefs: [CART], rules: [{ name: 'a', backendRefs: [{ name: 'cart', port: 8080 }] }] },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']],
      parents: [cartParent],
      rules: [{ name: 'a', backendRefs: [ok()] }],
    },
    {
      description: 'a backend Service that does not exist: BackendNotFound, kept and marked',
      spec: {
        parentRefs: [CART],
        rules: [
          {
            name: 'a',
            backendRefs: [
              { name: 'cart', port: 8080, weight: 3 },
              { name: 'ghost', port: 8080, weight: 1 },
            ],
          },
        ],
      },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
      parents: [cartParent],
      rules: [
        {
          name: 'a',
          backendRefs: [
            { ...ok(), weight: 3 },
            {
              namespace: 'shop',
              name: 'ghost',
              port: 8080,
              weight: 1,
              filters: [],
              invalid: 'BackendNotFound',
            },
          ],
        },
      ],
    },
    {
      description: 'a backend port the Service does not have: BackendNotFound, marked',
      spec: { parentRefs: [CART], rules: [{ name: 'a', backendRefs: [{ name: 'cart', port: 9090 }] }] },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
      parents: [cartParent],
      rules: [{ name: 'a', backendRefs: [{ ...ok(9090), invalid: 'BackendNotFound' }] }],
    },
    {
      description: 'a backend in another namespace: RefNotPermitted, kept with its weight and marked',
      spec: {
        parentRefs: [CART],
        rules: [
          {
            name: 'a',
            backendRefs: [
              { name: 'cart', port: 8080, weight: 90 },
              { name: 'pay', namespace: 'pay', port: 8080, weight: 10 },
            ],
          },
        ],
      },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']],
      parents: [cartParent],
      rules: [
        {
          name: 'a',
          backendRefs: [
            { ...ok(), weight: 90 },
            {
              namespace: 'pay',
              name: 'pay',
              port: 8080,
              weight: 10,
              filters: [],
              invalid: 'RefNotPermitted',
            },
          ],
        },
      ],
    },
    {
      description: 'a backend of another kind: InvalidKind, marked',
      spec: {
        parentRefs: [CART],
        rules: [{ name: 'a', backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b', port: 80 }] }],
      },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=False/InvalidKind']],
      parents: [cartParent],
      rules: [
        {
          name: 'a',
          backendRefs: [
            { namespace: 'shop', name: 'b', port: 80, weight: 1, filters: [], invalid: 'InvalidKind' },
          ],
        },
      ],
    },
    {
      description: 'a RequestMirror to a missing Service: BackendNotFound, that mirror is left out',
      spec: {
        parentRefs: [CART],
        rules: [
          {
            name: 'a',
            filters: [MIRROR_GHOST, MIRROR_V2],
            backendRefs: [{ name: 'cart', port: 8080, filters: [MIRROR_GHOST] }],
          },
        ],
      },
      status: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
      parents: [cartParent],
      rules: [{ name: 'a', filters: [MIRROR_V2], backendRefs: [ok()] }],
    },
    {
      description: 'parents: only those that accept the route are attached',
      spec: {
        parentRefs: [
          { ...CART, name: 'ghost' },
          { ...CART, name: 'pay', namespace: 'pay' },
          { ...CART, port: 9090 },
          { ...CART, port: 8080, sectionName: 'http' },
          { name: 'waypoint' },
          { name: 'edge' },
          { group: 'example.com', kind: 'Mesh', name: 'm' },
        ],
        rules: [{ name: 'a', backendRefs: [{ name: 'cart', port: 8080 }] }],
      },
      status: [
        ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      ],
      parents: [
        { ...cartParent, port: 8080, sectionName: 'http' },
        { kind: 'Gateway', namespace: 'shop', name: 'waypoint' },
      ],
      rules: [{ name: 'a', backendRefs: [ok()] }],
    },
    {
      description:
        'a rule with an ExtensionRef filter is dropped (PartiallyInvalid), even with a bad backend',
      spec: {
        parentRefs: [CART],
        rules: [
          { name: 'a', backendRefs: [{ name: 'cart', port: 8080 }] },
          { name: 'b', filters: [EXT], backendRefs: [{ name: 'cart', port: 8080 }] },
          { name: 'c', backendRefs: [{ name: 'ghost', port: 8080, filters: [EXT] }] },
          { name: 'd', backendRefs: [{ name: 'cart-v2', port: 1 }] },
        ],
      },
      status: [
        [
          'Accepted=True/Accepted',
          'ResolvedRefs=False/BackendNotFound',
          'PartiallyInvalid=True/UnsupportedValue',
        ],
      ],
      parents: [cartParent],
      rules: [
        { name: 'a', backendRefs: [ok()] },
        {
          name: 'd',
          backendRefs: [
            {
              namespace: 'shop',
              name: 'cart-v2',
              port: 1,
              weight: 1,
              filters: [],
              invalid: 'BackendNotFound',
            },
          ],
        },
      ],
    },
    {
      description: 'every rule invalid: no parent accepts it, nothing is attached or compiled',
      spec: {
        parentRefs: [CART, { name: 'waypoint' }],
        rules: [{ name: 'a', filters: [EXT], backendRefs: [{ name: 'cart', port: 8080 }] }],
      },
      status: [
        ['Accepted=False/UnsupportedValue', 'ResolvedRefs=True/ResolvedRefs'],
        ['Accepted=False/UnsupportedValue', 'ResolvedRefs=True/ResolvedRefs'],
      ],
      parents: [],
      rules: [],
    },
    {
      description: 'a GRPCRoute: the same rules (an unresolved backend answers UNAVAILABLE)',
      kind: 'GRPCRoute',
      spec: {
        parentRefs: [CART],
        rules: [
          { name: 'a', backendRefs: [{ name: 'pay', namespace: 'pay', port: 8080 }] },
          { name: 'b', filters: [EXT], backendRefs: [{ name: 'cart', port: 8080 }] },
        ],
      },
      status: [
        [
          'Accepted=True/Accepted',
          'ResolvedRefs=False/RefNotPermitted',
          'PartiallyInvalid=True/UnsupportedValue',
        ],
      ],
      parents: [cartParent],
      rules: [
        {
          name: 'a',
          backendRefs: [
            { namespace: 'pay', name: 'pay', port: 8080, weight: 1, filters: [], invalid: 'RefNotPermitted' },
          ],
        },
      ],
    },
  ];

  it.each(CASES)('$description', ({ kind, spec, status: wantStatus, parents, rules }) => {
    const config = emptyConfig();
    config.Service.push(...SERVICES);
    config.Gateway.push(...GATEWAYS);
    const metadata = { name: 'r', namespace: 'shop' };
    if (kind === 'GRPCRoute')
      config.GRPCRoute.push({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata,
        spec: spec as GrpcRoute['spec'],
      });
    else
      config.HTTPRoute.push({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata,
        spec,
      });

    const [status] = routeStatuses(config).routes;
    const [route] = computeMeshState(config, 'cluster.local').routes;
    if (!status || !route) throw new Error('one route in, one status and one compiled route out');

    // what each reader says, spelled out
    expect(status.parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`))).toEqual(
      wantStatus,
    );
    expect(route.parents).toEqual(parents);
    expect(
      route.rules.map((r) => ({
        name: r.name,
        backendRefs: r.backendRefs,
        ...(r.filters.length ? { filters: r.filters } : {}),
      })),
    ).toEqual(rules);

    // and that they agree, derived from the status alone
    const accepted = status.parents
      .filter((p) => p.conditions.some((c) => c.type === 'Accepted' && c.status === 'True'))
      .map(({ parentRef: { group: _group, ...ref } }) => ref);
    expect(route.parents).toEqual(accepted);

    const specRules = spec.rules ?? [];
    const messages = status.parents.flatMap((p) => p.conditions.map((c) => c.message));
    const droppedMessage = messages.find((m) => /^(Dropped Rule\(s\)|every rule is invalid)/.test(m)) ?? '';
    const dropped = new Set(
      [...droppedMessage.matchAll(/(?:Rule\(s\) |; |: )(\d+) \(/g)].map((m) => Number(m[1])),
    );
    const keptIndex = specRules.flatMap((_, ri) => (dropped.has(ri) ? [] : [ri]));
    expect(route.rules.map((r) => r.name)).toEqual(keptIndex.map((ri) => specRules[ri]?.name));

    const resolved = status.parents[0]?.conditions.find((c) => c.type === 'ResolvedRefs');
    const unresolved = new Set(
      resolved?.status === 'False'
        ? [...resolved.message.matchAll(/(spec\.rules\[\d+\][^:]*): /g)].map((m) => m[1])
        : [],
    );
    route.rules.forEach((rule, i) => {
      const ri = keptIndex[i] ?? -1;
      rule.backendRefs.forEach((b, bi) =>
        expect(b.invalid !== undefined, `rules[${ri}].backendRefs[${bi}]`).toBe(
          unresolved.has(`spec.rules[${ri}].backendRefs[${bi}]`),
        ),
      );
      const source = specRules[ri];
      const mirrorsKept = (source?.filters ?? []).filter(
        (f, fi) =>
          f.requestMirror && !unresolved.has(`spec.rules[${ri}].filters[${fi}].requestMirror.backendRef`),
      );
      expect(rule.filters.filter((f) => f.requestMirror)).toEqual(mirrorsKept);
    });
  });
});

describe('compileRoute memo', () => {
  it('reuses the record while the references resolve the same, and recompiles when they change', () => {
    const svc = (name: string): Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'shop' },
      spec: { ports: [{ port: 80 }] },
    });
    const object: HttpRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'shop' },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'cart' }],
        rules: [{ backendRefs: [{ name: 'cart-v2', port: 80 }] }],
      },
    };
    const before = routeWorldOf({ Service: [svc('cart')], Gateway: [] });
    const first = compileRoute({ kind: 'HTTPRoute', object }, before);
    expect(first.rules[0]?.backendRefs[0]?.invalid).toBe('BackendNotFound');
    expect(
      compileRoute({ kind: 'HTTPRoute', object }, routeWorldOf({ Service: [svc('cart')], Gateway: [] })),
    ).toBe(first);

    const after = routeWorldOf({ Service: [svc('cart'), svc('cart-v2')], Gateway: [] });
    const second = compileRoute({ kind: 'HTTPRoute', object }, after);
    expect(second.rules[0]?.backendRefs[0]).toEqual({
      namespace: 'shop',
      name: 'cart-v2',
      port: 80,
      weight: 1,
      filters: [],
    });
    expect(
      compileRoute({ kind: 'HTTPRoute', object }, routeWorldOf({ Service: [], Gateway: [] })).parents,
    ).toEqual([]);
  });
});
