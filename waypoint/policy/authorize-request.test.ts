import { describe, expect, it } from 'vitest';
import {
  authorizeRequest,
  authzPath,
  pathMatch,
  type L7AuthzRequest,
  type L7AuthzTarget,
} from './authorize-request.js';
import { policy } from '../../ztunnel/state/mesh-fixture.js';
import type {
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  MeshAuthorizationPolicy,
  PolicyScope,
} from '../../core/model/mesh.js';

const target: L7AuthzTarget = {
  gateway: { namespace: 'shop', name: 'waypoint' },
  service: { namespace: 'shop', name: 'cart' },
};

const req: L7AuthzRequest = {
  principal: 'spiffe://cluster.local/ns/web/sa/frontend',
  sourceIp: '10.0.1.1',
  method: 'GET',
  path: '/api/items?x=1',
  host: 'cart.shop.svc.cluster.local:8080',
  port: 8080,
  headers: { 'x-user': 'alice', 'x-multi': ['a', 'b'] },
  destinationIp: '10.96.0.10',
};

const GW: PolicyScope = {
  kind: 'targetRefs',
  targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }],
};
const SVC: PolicyScope = { kind: 'targetRefs', targetRefs: [{ group: '', kind: 'Service', name: 'cart' }] };

/** A waypoint policy on the Gateway in shop, ALLOW unless told. */
const P = (p: Partial<MeshAuthorizationPolicy>): MeshAuthorizationPolicy =>
  policy({ name: 'p', namespace: 'shop', scope: GW, enforcedBy: 'waypoint', ...p });
const allow = (...rules: AuthzRule[]) => P({ action: 'ALLOW', rules });
const deny = (...rules: AuthzRule[]) => P({ name: 'd', action: 'DENY', rules });
const to = (operation: AuthzOperation): AuthzRule => ({ to: [{ operation }] });
const from = (source: AuthzSource): AuthzRule => ({ from: [{ source }] });

const cases: {
  name: string;
  policies: MeshAuthorizationPolicy[];
  req?: Partial<L7AuthzRequest>;
  target?: L7AuthzTarget;
  want: string;
}[] = [
  { name: 'no policy allows', policies: [], want: 'allow' },
  { name: 'ALLOW with no rules allows nothing', policies: [allow()], want: 'deny:no-allow-match' },
  { name: 'DENY with no rules denies nothing', policies: [deny()], want: 'allow' },
  { name: 'empty rule matches everything', policies: [allow({})], want: 'allow:shop/p' },
  // where policies apply
  {
    name: 'ztunnel-enforced policy is not ours',
    policies: [P({ enforcedBy: 'ztunnel', rules: [] })],
    want: 'allow',
  },
  {
    name: 'Gateway of another name does not apply',
    policies: [
      P({
        scope: {
          kind: 'targetRefs',
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'other' }],
        },
      }),
    ],
    want: 'allow',
  },
  {
    name: 'Gateway of the same name in another namespace does not apply',
    policies: [P({ namespace: 'web' })],
    want: 'allow',
  },
  { name: 'Service target applies', policies: [P({ scope: SVC })], want: 'deny:no-allow-match' },
  {
    name: 'Service target in the core group applies',
    policies: [
      P({ scope: { kind: 'targetRefs', targetRefs: [{ group: 'core', kind: 'Service', name: 'cart' }] } }),
    ],
    want: 'deny:no-allow-match',
  },
  {
    name: 'Service target for another service does not apply',
    policies: [P({ scope: SVC })],
    target: { ...target, service: { namespace: 'shop', name: 'other' } },
    want: 'allow',
  },
  {
    name: 'GatewayClass target from the root namespace applies',
    policies: [
      P({
        namespace: 'ambit-system',
        scope: {
          kind: 'targetRefs',
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'ambit-waypoint' }],
        },
      }),
    ],
    want: 'deny:no-allow-match',
  },
  {
    name: 'GatewayClass target outside the root namespace is ignored',
    policies: [
      P({
        scope: {
          kind: 'targetRefs',
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'ambit-waypoint' }],
        },
      }),
    ],
    want: 'allow',
  },
  { name: 'AUDIT is ignored', policies: [P({ action: 'AUDIT', rules: [{}] })], want: 'allow' },
  { name: 'CUSTOM is ignored', policies: [P({ action: 'CUSTOM', rules: [{}] })], want: 'allow' },
  // precedence
  {
    name: 'DENY before ALLOW',
    policies: [allow({}), deny(to({ methods: ['GET'] }))],
    want: 'deny:deny-policy',
  },
  {
    name: 'non-matching DENY then matching ALLOW',
    policies: [allow(to({ paths: ['/api/*'] })), deny(to({ methods: ['DELETE'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'any one ALLOW policy suffices',
    policies: [allow(to({ paths: ['/nope'] })), P({ name: 'q', rules: [to({ paths: ['/api/items'] })] })],
    want: 'allow:shop/q',
  },
  // principals
  {
    name: 'principal (Istio form)',
    policies: [allow(from({ principals: ['cluster.local/ns/web/sa/frontend'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'principal (spiffe form)',
    policies: [allow(from({ principals: ['spiffe://cluster.local/ns/web/sa/frontend'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'principal mismatch',
    policies: [allow(from({ principals: ['cluster.local/ns/web/sa/other'] }))],
    want: 'deny:no-allow-match',
  },
  {
    name: 'principal prefix *',
    policies: [allow(from({ principals: ['cluster.local/ns/web/*'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'principal suffix *',
    policies: [allow(from({ principals: ['*/sa/frontend'] }))],
    want: 'allow:shop/p',
  },
  {
    name: '* principal needs a known principal',
    policies: [allow(from({ principals: ['*'] }))],
    req: { principal: undefined },
    want: 'deny:no-allow-match',
  },
  {
    name: 'notPrincipals excludes (DENY all but frontend)',
    policies: [deny(from({ notPrincipals: ['cluster.local/ns/web/sa/frontend'] }))],
    req: { principal: 'spiffe://cluster.local/ns/web/sa/attacker' },
    want: 'deny:deny-policy',
  },
  {
    name: 'notPrincipals lets the named one through',
    policies: [deny(from({ notPrincipals: ['cluster.local/ns/web/sa/frontend'] }))],
    want: 'allow',
  },
  { name: 'namespaces', policies: [allow(from({ namespaces: ['web'] }))], want: 'allow:shop/p' },
  { name: 'notNamespaces', policies: [deny(from({ notNamespaces: ['web'] }))], want: 'allow' },
  {
    name: 'namespaces with no principal',
    policies: [allow(from({ namespaces: ['web'] }))],
    req: { principal: undefined },
    want: 'deny:no-allow-match',
  },
  { name: 'ipBlocks', policies: [allow(from({ ipBlocks: ['10.0.1.0/24'] }))], want: 'allow:shop/p' },
  { name: 'notIpBlocks', policies: [deny(from({ notIpBlocks: ['10.0.1.0/24'] }))], want: 'allow' },
  {
    name: 'remoteIpBlocks use the source address',
    policies: [deny(from({ remoteIpBlocks: ['10.0.1.1'] }))],
    want: 'deny:deny-policy',
  },
  {
    name: 'requestPrincipals never match (no JWT)',
    policies: [allow(from({ requestPrincipals: ['*'] }))],
    want: 'deny:no-allow-match',
  },
  {
    name: 'notRequestPrincipals always hold (no JWT)',
    policies: [deny(from({ notRequestPrincipals: ['*'] }))],
    want: 'deny:deny-policy',
  },
  // operation
  { name: 'method', policies: [allow(to({ methods: ['GET', 'HEAD'] }))], want: 'allow:shop/p' },
  {
    name: 'method mismatch',
    policies: [allow(to({ methods: ['GET'] }))],
    req: { method: 'POST' },
    want: 'deny:no-allow-match',
  },
  {
    name: 'notMethods',
    policies: [deny(to({ notMethods: ['GET'] }))],
    req: { method: 'DELETE' },
    want: 'deny:deny-policy',
  },
  {
    name: 'path exact ignores the query',
    policies: [allow(to({ paths: ['/api/items'] }))],
    want: 'allow:shop/p',
  },
  { name: 'path prefix *', policies: [allow(to({ paths: ['/api/*'] }))], want: 'allow:shop/p' },
  { name: 'path suffix *', policies: [allow(to({ paths: ['*/items'] }))], want: 'allow:shop/p' },
  {
    name: 'path mismatch',
    policies: [allow(to({ paths: ['/admin/*'] }))],
    want: 'deny:no-allow-match',
  },
  {
    name: 'dot segments cannot dodge a DENY',
    policies: [deny(to({ paths: ['/admin/*'] }))],
    req: { path: '/public/../admin/users' },
    want: 'deny:deny-policy',
  },
  {
    name: 'encoded dot segments cannot dodge a DENY',
    policies: [deny(to({ paths: ['/admin/*'] }))],
    req: { path: '/public/%2e%2e/admin/users' },
    want: 'deny:deny-policy',
  },
  { name: 'notPaths', policies: [deny(to({ notPaths: ['/api/*'] }))], want: 'allow' },
  { name: 'path template {*}', policies: [allow(to({ paths: ['/{*}/items'] }))], want: 'allow:shop/p' },
  {
    name: 'path template {**}',
    policies: [allow(to({ paths: ['/api/{**}'] }))],
    req: { path: '/api/a/b/c' },
    want: 'allow:shop/p',
  },
  {
    name: 'host with port in request, without in policy',
    policies: [allow(to({ hosts: ['cart.shop.svc.cluster.local'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'host is case-insensitive',
    policies: [deny(to({ hosts: ['CART.shop.svc.cluster.local'] }))],
    req: { host: 'Cart.Shop.svc.cluster.local' },
    want: 'deny:deny-policy',
  },
  {
    name: 'host with port in policy',
    policies: [allow(to({ hosts: ['cart.shop.svc.cluster.local:8080'] }))],
    want: 'allow:shop/p',
  },
  {
    name: 'host suffix *',
    policies: [allow(to({ hosts: ['*.svc.cluster.local'] }))],
    req: { host: 'cart.shop.svc.cluster.local' },
    want: 'allow:shop/p',
  },
  { name: 'notHosts', policies: [deny(to({ notHosts: ['cart.*'] }))], want: 'allow' },
  { name: 'ports', policies: [allow(to({ ports: ['8080'] }))], want: 'allow:shop/p' },
  { name: 'notPorts', policies: [deny(to({ notPorts: ['8080'] }))], want: 'allow' },
  {
    name: 'operation fields are ANDed',
    policies: [allow(to({ methods: ['GET'], paths: ['/admin'] }))],
    want: 'deny:no-allow-match',
  },
  {
    name: 'from and to are ANDed',
    policies: [allow({ ...from({ namespaces: ['web'] }), ...to({ methods: ['POST'] }) })],
    want: 'deny:no-allow-match',
  },
  // when
  {
    name: 'header value',
    policies: [allow({ when: [{ key: 'request.headers[X-User]', values: ['alice'] }] })],
    want: 'allow:shop/p',
  },
  {
    name: 'header mismatch',
    policies: [allow({ when: [{ key: 'request.headers[x-user]', values: ['bob'] }] })],
    want: 'deny:no-allow-match',
  },
  {
    name: 'header prefix *',
    policies: [deny({ when: [{ key: 'request.headers[x-user]', values: ['ali*'] }] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'absent header never matches values',
    policies: [deny({ when: [{ key: 'request.headers[x-none]', values: ['*'] }] })],
    want: 'allow',
  },
  {
    name: 'repeated header joined with a comma',
    policies: [allow({ when: [{ key: 'request.headers[x-multi]', values: ['a,b'] }] })],
    want: 'allow:shop/p',
  },
  {
    name: 'header notValues',
    policies: [deny({ when: [{ key: 'request.headers[x-user]', notValues: ['alice'] }] })],
    want: 'allow',
  },
  {
    name: 'source.namespace and source.principal',
    policies: [
      allow({
        when: [
          { key: 'source.namespace', values: ['web'] },
          { key: 'source.principal', values: ['cluster.local/ns/web/sa/frontend'] },
        ],
      }),
    ],
    want: 'allow:shop/p',
  },
  {
    name: 'source.ip',
    policies: [deny({ when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'destination.port',
    policies: [allow({ when: [{ key: 'destination.port', values: ['8080'] }] })],
    want: 'allow:shop/p',
  },
  {
    name: 'destination.ip',
    policies: [allow({ when: [{ key: 'destination.ip', values: ['10.96.0.0/16'] }] })],
    want: 'allow:shop/p',
  },
  {
    name: 'request.auth.* never matches (no JWT)',
    policies: [allow({ when: [{ key: 'request.auth.claims[iss]', values: ['*'] }] })],
    want: 'deny:no-allow-match',
  },
  {
    name: 'unknown when key never matches',
    policies: [deny({ when: [{ key: 'connection.sni', values: ['*'] }] })],
    want: 'allow',
  },
];

describe('authorizeRequest', () => {
  it.each(cases)('$name', ({ policies, req: over, target: t = target, want }) => {
    const r = authorizeRequest(policies, t, { ...req, ...over });
    const got = r.kind === 'allow' ? (r.policy ? `allow:${r.policy}` : 'allow') : `deny:${r.reason}`;
    expect(got).toBe(want);
  });

  it('names every ALLOW policy when none matched, and the DENY policy that matched', () => {
    const a = P({ name: 'a', rules: [to({ paths: ['/x'] })] });
    const b = P({ name: 'b', rules: [to({ paths: ['/y'] })] });
    expect(authorizeRequest([b, a], target, req)).toEqual({
      kind: 'deny',
      policy: 'shop/a,shop/b',
      reason: 'no-allow-match',
    });
    expect(authorizeRequest([a, deny({})], target, req)).toEqual({
      kind: 'deny',
      policy: 'shop/d',
      reason: 'deny-policy',
    });
  });

  it('a Service-targeted policy does not apply when the request has no Service', () => {
    expect(authorizeRequest([P({ scope: SVC })], { gateway: target.gateway }, req)).toEqual({
      kind: 'allow',
    });
  });
});

describe('authzPath', () => {
  it.each([
    ['/a/b?x=1', '/a/b'],
    ['/a/b#frag', '/a/b'],
    ['/a/./b/../c', '/a/c'],
    ['//double/slash', '//double/slash'],
    ['http://host:80/abs/path?q', '/abs/path'],
    ['*', '*'],
  ])('%s -> %s', (input, want) => {
    expect(authzPath(input)).toBe(want);
  });
});

describe('pathMatch', () => {
  it.each([
    ['/a', '/a', true],
    ['/a', '/a/', false],
    ['/a/*', '/a/b/c', true],
    ['*.html', '/x/y.html', true],
    ['*', '/anything', true],
    ['/{*}/b', '/a/b', true],
    ['/{*}/b', '/a/x/b', false],
    ['/a/{**}', '/a/x/y', true],
    ['/a.{*}', '/axb', false],
  ] as const)('%s ~ %s = %s', (pattern, path, want) => {
    expect(pathMatch(pattern, path)).toBe(want);
  });
});
