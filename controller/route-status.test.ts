import { describe, expect, it } from 'vitest';
import type { HttpRoute } from '../core/model/resources/http-route.js';
import { EXT, gateway, service } from '../core/model/route-fixture.js';
import { emptyConfig } from '../core/model/validate-config.js';
import { routeStatus, routeStatuses, type RouteWorld } from './route-status.js';

const SERVICES = [
  service('shop', 'cart', [{ port: 8080, name: 'http' }]),
  service('shop', 'cart-v2', [{ port: 8080 }]),
  service('pay', 'pay', [{ port: 8080 }]),
];
const GATEWAYS = [
  gateway('shop', 'waypoint', 'ambit-waypoint'),
  gateway('shop', 'edge', 'istio'),
  gateway('pay', 'waypoint', 'ambit-waypoint'),
];
const world: RouteWorld = {
  service: (ns, name) => SERVICES.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
  gateway: (ns, name) => GATEWAYS.find((g) => g.metadata.namespace === ns && g.metadata.name === name),
};

type Spec = HttpRoute['spec'];
const CART_PARENT = { group: '', kind: 'Service', name: 'cart' };
const toCart = (extra: object = {}) => ({ backendRefs: [{ name: 'cart', port: 8080, ...extra }] });

/** Each case: a route spec and, per parent, its conditions as `Type=Status/Reason`. */
const CASES: { description: string; spec: Spec; want: string[][]; messages?: RegExp[] }[] = [
  {
    description: 'all good: Accepted and ResolvedRefs',
    spec: { parentRefs: [CART_PARENT], rules: [toCart()] },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']],
  },
  {
    description: 'a backendRef to a Service that does not exist',
    spec: { parentRefs: [CART_PARENT], rules: [{ backendRefs: [{ name: 'ghost', port: 8080 }] }] },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
    messages: [/spec\.rules\[0\]\.backendRefs\[0\]: Service shop\/ghost does not exist/],
  },
  {
    description: 'a backendRef to a port the Service does not have',
    spec: { parentRefs: [CART_PARENT], rules: [{ backendRefs: [{ name: 'cart', port: 9090 }] }] },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
    messages: [/Service shop\/cart has no port 9090/],
  },
  {
    description: 'a missing RequestMirror target',
    spec: {
      parentRefs: [CART_PARENT],
      rules: [
        {
          ...toCart(),
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'ghost', port: 80 } } }],
        },
      ],
    },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/BackendNotFound']],
    messages: [
      /spec\.rules\[0\]\.filters\[0\]\.requestMirror\.backendRef: Service shop\/ghost does not exist/,
    ],
  },
  {
    description: 'a backendRef to a Service in another namespace (no ReferenceGrant exists)',
    spec: {
      parentRefs: [CART_PARENT],
      rules: [{ backendRefs: [{ name: 'pay', namespace: 'pay', port: 8080 }] }],
    },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']],
    messages: [/Service pay\/pay is in another namespace and no ReferenceGrant permits it/],
  },
  {
    description: 'a backendRef of a kind other than Service',
    spec: {
      parentRefs: [CART_PARENT],
      rules: [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b', port: 80 }] }],
    },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/InvalidKind']],
  },
  {
    description: 'several unresolved refs: the first one gives the reason, the message names all',
    spec: {
      parentRefs: [CART_PARENT],
      rules: [
        toCart(),
        {
          backendRefs: [
            { name: 'pay', namespace: 'pay', port: 8080 },
            { name: 'ghost', port: 1 },
          ],
        },
      ],
    },
    want: [['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted']],
    messages: [
      /backendRefs\[0\]: Service pay\/pay .*; spec\.rules\[1\]\.backendRefs\[1\]: Service shop\/ghost does not exist/,
    ],
  },
  {
    description: 'a parent Service that does not exist',
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'ghost' }], rules: [toCart()] },
    want: [['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs']],
    messages: [/Service shop\/ghost does not exist/],
  },
  {
    description: 'a parent Service in another namespace (a consumer route)',
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'pay', namespace: 'pay' }], rules: [toCart()] },
    want: [['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs']],
    messages: [/producer routes only/],
  },
  {
    description: 'a parent Service port or port name it does not have',
    spec: {
      parentRefs: [
        { ...CART_PARENT, port: 9090 },
        { ...CART_PARENT, sectionName: 'grpc' },
        { ...CART_PARENT, port: 8080, sectionName: 'http' },
      ],
      rules: [toCart()],
    },
    want: [
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    ],
    messages: [/has no port 9090/, /has no port named grpc/, /attached/],
  },
  {
    description:
      'waypoint Gateway parents: own namespace, another namespace, another class, no such listener',
    spec: {
      parentRefs: [
        { name: 'waypoint' },
        { name: 'waypoint', namespace: 'pay' },
        { name: 'edge' },
        { name: 'waypoint', sectionName: 'http' },
        { group: 'example.com', kind: 'Mesh', name: 'm' },
      ],
      rules: [toCart()],
    },
    want: [
      ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=False/NotAllowedByListeners', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
    ],
    messages: [
      /attached/,
      /own namespace only/,
      /class istio, not ambit-waypoint/,
      /no listener named http/,
      /unsupported parent example\.com\/Mesh/,
    ],
  },
  {
    description: 'some rules invalid, some valid: PartiallyInvalid, the route stays Accepted',
    spec: {
      parentRefs: [CART_PARENT],
      rules: [toCart(), { name: 'magic', ...toCart(), filters: [EXT] }, toCart({ filters: [EXT] })],
    },
    want: [
      ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs', 'PartiallyInvalid=True/UnsupportedValue'],
    ],
    messages: [
      /attached/,
      /all references resolved/,
      /^Dropped Rule\(s\) 1 \(magic\): ExtensionRef filters are not supported \(example\.com\/Magic m\); 2: /,
    ],
  },
  {
    description: 'every rule invalid: not Accepted',
    spec: { parentRefs: [CART_PARENT], rules: [{ ...toCart(), filters: [EXT] }] },
    want: [['Accepted=False/UnsupportedValue', 'ResolvedRefs=True/ResolvedRefs']],
    messages: [/every rule is invalid: 0: ExtensionRef/],
  },
  {
    description: 'no parentRefs: attached to nothing',
    spec: { rules: [toCart()] },
    want: [],
  },
];

describe('routeStatus', () => {
  it.each(CASES)('$description', ({ spec, want, messages }) => {
    const route: HttpRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'shop' },
      spec,
    };
    const s = routeStatus('HTTPRoute', route, world);
    expect(s.parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`))).toEqual(want);
    for (const c of s.parents.flatMap((p) => p.conditions))
      expect(c).not.toHaveProperty('observedGeneration');
    // a message is checked against the first parent's conditions, or against parent i when one per parent
    (messages ?? []).forEach((m, i) => {
      const perParent = s.parents.length > 1 ? s.parents[i]?.conditions : s.parents[0]?.conditions;
      const texts = (s.parents.length > 1 ? perParent?.slice(0, 1) : perParent)?.map((c) => c.message) ?? [];
      expect(
        texts.some((t) => m.test(t)),
        `${String(m)} in ${JSON.stringify(texts)}`,
      ).toBe(true);
    });
  });

  it('fills in parentRef defaults and carries observedGeneration when the route has a generation', () => {
    const route: HttpRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'shop', generation: 7 },
      spec: {
        parentRefs: [{ name: 'waypoint' }, { kind: 'Service', name: 'cart', port: 8080 }],
        rules: [toCart()],
      },
    };
    const s = routeStatus('HTTPRoute', route, world);
    expect(s.parents.map((p) => p.parentRef)).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'shop', name: 'waypoint' },
      { group: '', kind: 'Service', namespace: 'shop', name: 'cart', port: 8080 },
    ]);
    expect(s.parents.flatMap((p) => p.conditions.map((c) => c.observedGeneration))).toEqual([7, 7, 7, 7]);
  });
});

describe('routeStatuses', () => {
  it('covers every HTTPRoute and GRPCRoute of the config, sorted, and no TrafficPolicy', () => {
    const config = emptyConfig();
    config.Service.push(...SERVICES);
    config.Gateway.push(...GATEWAYS);
    const meta = (name: string) => ({ name, namespace: 'shop' });
    config.HTTPRoute.push(
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: meta('b'),
        spec: { parentRefs: [CART_PARENT], rules: [toCart()] },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: meta('a'),
        spec: { parentRefs: [CART_PARENT], rules: [{ backendRefs: [{ name: 'ghost', port: 1 }] }] },
      },
    );
    config.GRPCRoute.push({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: meta('g'),
      spec: { parentRefs: [CART_PARENT], rules: [toCart()] },
    });
    config.TrafficPolicy.push({
      apiVersion: 'networking.ambit.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: meta('t'),
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'cart' }] },
    });
    const { routes } = routeStatuses(config);
    expect(
      routes.map((r) => `${r.kind} ${r.namespace}/${r.name} ${r.parents[0]?.conditions[1]?.reason}`),
    ).toEqual([
      'GRPCRoute shop/g ResolvedRefs',
      'HTTPRoute shop/a BackendNotFound',
      'HTTPRoute shop/b ResolvedRefs',
    ]);
  });
});
