// Routes and TrafficPolicies go through the real validator and come out as the compiled records
// subscribers receive: references resolved, Gateway API defaults filled in, durations in ms.
import { describe, expect, it } from 'vitest';
import { computeMeshState } from './compute-mesh-state.js';
import { formatConfigError } from './config-error.js';
import { validateConfig } from './validate-config.js';
import type { MeshRoute, MeshTrafficPolicy } from './mesh.js';

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
      description: 'cross-namespace backend, weights, timeouts and retry backoff in ms, matches kept',
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
              { namespace: 'other', name: 'cart-v2', port: 80, weight: 0, filters: [] },
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
  ])('$description', ({ spec, want }) => {
    const state = compiled(policy('p', spec));
    expect(state.trafficPolicies).toEqual([want]);
    // TrafficPolicies are their own record kind now, not routes
    expect(state.routes).toEqual([]);
  });
});
