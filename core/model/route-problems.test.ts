// The predicates shared by route status and route compilation, one table each.
import { describe, expect, it } from 'vitest';
import type { ParentRef } from './resources/gateway-api-common.js';
import { EXT, gateway, service } from './route-fixture.js';
import {
  backendProblem,
  everyRuleInvalid,
  parentProblem,
  resolveParentRef,
  routeWorldOf,
  ruleBackends,
  ruleProblem,
  type BackendObjectRef,
  type RouteRule,
} from './route-problems.js';

const world = routeWorldOf({
  Service: [service('shop', 'cart', [{ port: 8080, name: 'http' }]), service('pay', 'pay', [{ port: 8080 }])],
  Gateway: [
    gateway('shop', 'waypoint', 'ambit-waypoint'),
    gateway('shop', 'edge', 'istio'),
    gateway('pay', 'waypoint', 'ambit-waypoint'),
  ],
});

describe('routeWorldOf', () => {
  it('finds Services and Gateways by namespace and name, and nothing else', () => {
    expect(world.service('shop', 'cart')?.metadata.name).toBe('cart');
    expect(world.service('pay', 'cart')).toBeUndefined();
    expect(world.gateway('shop', 'edge')?.spec.gatewayClassName).toBe('istio');
    expect(world.gateway('other', 'edge')).toBeUndefined();
  });
});

describe('backendProblem', () => {
  it.each<{ description: string; ref: BackendObjectRef; want: string | undefined }>([
    {
      description: 'a Service port in the route namespace',
      ref: { name: 'cart', port: 8080 },
      want: undefined,
    },
    {
      description: 'core group spelled out',
      ref: { group: 'core', kind: 'Service', name: 'cart', port: 8080 },
      want: undefined,
    },
    {
      description: 'another kind',
      ref: { group: 'example.com', kind: 'Bucket', name: 'b', port: 80 },
      want: 'InvalidKind: backend kind example.com/Bucket is not supported: use a Service',
    },
    {
      description: 'a Service of another group',
      ref: { group: 'example.com', name: 'cart', port: 8080 },
      want: 'InvalidKind: backend kind example.com/Service is not supported: use a Service',
    },
    {
      description: 'another namespace, even when the Service exists',
      ref: { name: 'pay', namespace: 'pay', port: 8080 },
      want: 'RefNotPermitted: Service pay/pay is in another namespace and no ReferenceGrant permits it',
    },
    {
      description: 'no such Service',
      ref: { name: 'ghost', port: 8080 },
      want: 'BackendNotFound: Service shop/ghost does not exist',
    },
    {
      description: 'no port',
      ref: { name: 'cart' },
      want: 'BackendNotFound: Service shop/cart: a port is required',
    },
    {
      description: 'a port the Service does not have',
      ref: { name: 'cart', port: 9090 },
      want: 'BackendNotFound: Service shop/cart has no port 9090',
    },
  ])('$description', ({ ref, want }) => {
    const p = backendProblem(ref, 'shop', world);
    expect(p && `${p.reason}: ${p.message}`).toEqual(want);
  });
});

describe('ruleProblem and everyRuleInvalid', () => {
  it.each<{ description: string; rule: RouteRule; want: string | undefined }>([
    { description: 'no filters', rule: { backendRefs: [{ name: 'cart', port: 8080 }] }, want: undefined },
    {
      description: 'known filters',
      rule: { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['x'] } }] },
      want: undefined,
    },
    {
      description: 'an ExtensionRef on the rule',
      rule: { filters: [EXT] },
      want: 'ExtensionRef filters are not supported (example.com/Magic m)',
    },
    {
      description: 'an ExtensionRef on one backendRef',
      rule: {
        backendRefs: [
          { name: 'cart', port: 8080 },
          { name: 'cart', port: 8080, filters: [EXT] },
        ],
      },
      want: 'ExtensionRef filters are not supported (example.com/Magic m)',
    },
  ])('$description', ({ rule, want }) => {
    expect(ruleProblem(rule)).toEqual(want);
  });

  it.each<{ rules: RouteRule[]; want: boolean }>([
    { rules: [], want: false },
    { rules: [{}, { filters: [EXT] }], want: false },
    { rules: [{ filters: [EXT] }, { filters: [EXT] }], want: true },
  ])('everyRuleInvalid of $rules.length rules is $want', ({ rules, want }) => {
    expect(everyRuleInvalid(rules)).toBe(want);
  });
});

describe('ruleBackends', () => {
  it('lists backendRefs, their mirror targets and the rule mirror targets, with field paths', () => {
    const mirror = (name: string) => ({
      type: 'RequestMirror' as const,
      requestMirror: { backendRef: { name, port: 80 } },
    });
    const rule: RouteRule = {
      filters: [mirror('m1')],
      backendRefs: [
        { name: 'a', port: 80, filters: [mirror('m2')] },
        { name: 'b', port: 80 },
      ],
    };
    expect(ruleBackends(rule, 3).map(({ field, ref }) => `${field} ${ref.name}`)).toEqual([
      'spec.rules[3].backendRefs[0] a',
      'spec.rules[3].backendRefs[0].filters[0].requestMirror.backendRef m2',
      'spec.rules[3].backendRefs[1] b',
      'spec.rules[3].filters[0].requestMirror.backendRef m1',
    ]);
  });
});

describe('resolveParentRef and parentProblem', () => {
  it.each<{ description: string; ref: ParentRef; want: string | undefined }>([
    { description: 'a Service', ref: { group: '', kind: 'Service', name: 'cart' }, want: undefined },
    {
      description: 'a Service port and port name it has',
      ref: { kind: 'Service', name: 'cart', port: 8080, sectionName: 'http' },
      want: undefined,
    },
    {
      description: 'a missing Service',
      ref: { kind: 'Service', name: 'ghost' },
      want: 'NoMatchingParent: Service shop/ghost does not exist',
    },
    {
      description: 'a Service in another namespace',
      ref: { kind: 'Service', name: 'pay', namespace: 'pay' },
      want: 'NoMatchingParent: Service pay/pay is in another namespace: Ambit applies producer routes only (put the route in namespace pay)',
    },
    {
      description: 'a Service port it does not have',
      ref: { kind: 'Service', name: 'cart', port: 9090 },
      want: 'NoMatchingParent: Service shop/cart has no port 9090',
    },
    {
      description: 'a Service port name it does not have',
      ref: { kind: 'Service', name: 'cart', sectionName: 'grpc' },
      want: 'NoMatchingParent: Service shop/cart has no port named grpc',
    },
    {
      description: 'the waypoint Gateway (kind defaults to Gateway)',
      ref: { name: 'waypoint' },
      want: undefined,
    },
    {
      description: 'a missing Gateway',
      ref: { name: 'ghost' },
      want: 'NoMatchingParent: Gateway shop/ghost does not exist',
    },
    {
      description: 'a Gateway of another class',
      ref: { name: 'edge' },
      want: 'NoMatchingParent: Gateway shop/edge is of class istio, not ambit-waypoint: no Ambit waypoint serves it',
    },
    {
      description: 'a waypoint in another namespace',
      ref: { name: 'waypoint', namespace: 'pay' },
      want: 'NotAllowedByListeners: Gateway pay/waypoint admits routes from its own namespace only (allowedRoutes defaults to Same)',
    },
    {
      description: 'a listener the waypoint does not have',
      ref: { name: 'waypoint', sectionName: 'http', port: 80 },
      want: 'NoMatchingParent: Gateway shop/waypoint has no listener named http on port 80',
    },
    {
      description: 'another parent kind',
      ref: { group: 'example.com', kind: 'Mesh', name: 'm' },
      want: 'NoMatchingParent: unsupported parent example.com/Mesh: use a Service or a waypoint Gateway',
    },
  ])('$description', ({ ref, want }) => {
    const p = parentProblem(resolveParentRef(ref, 'shop'), 'shop', world);
    expect(p && `${p.reason}: ${p.message}`).toEqual(want);
  });

  it('fills in Gateway API defaults: kind Gateway, group by kind, the route namespace', () => {
    expect(resolveParentRef({ name: 'waypoint' }, 'shop')).toEqual({
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      namespace: 'shop',
      name: 'waypoint',
    });
    expect(
      resolveParentRef({ kind: 'Service', name: 'cart', port: 8080, sectionName: 'http' }, 'shop'),
    ).toEqual({
      group: '',
      kind: 'Service',
      namespace: 'shop',
      name: 'cart',
      port: 8080,
      sectionName: 'http',
    });
  });
});
