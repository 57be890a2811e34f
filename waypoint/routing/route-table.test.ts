// Unit tables ported from the Gateway API conformance cases (kubernetes-sigs/gateway-api
// conformance/tests/mesh/*.go and the gateway profile's HTTPRouteMatchingAcrossRoutes), with the
// upstream manifests as MeshRoute records: each case names the backend the upstream test expects, or
// 404 (no-match).
import { describe, expect, it } from 'vitest';
import type {
  MeshGrpcRouteRule,
  MeshHttpRouteRule,
  MeshRoute,
  MeshRouteParent,
} from '../../core/model/mesh.js';
import type { GrpcRouteMatch } from '../../core/model/resources/grpc-route.js';
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import type { L7Request } from './l7-request.js';
import { buildRouteTable, selectRoute, type RouteDecision, type RouteTable } from './route-table.js';

const NS = 'gateway-conformance-mesh';
const ECHO = { namespace: NS, name: 'echo' };
const echoParent = (port?: number): MeshRouteParent => ({
  kind: 'Service',
  namespace: NS,
  name: 'echo',
  ...(port === undefined ? {} : { port }),
});

function httpRule(
  backend: string,
  matches: HttpRouteMatch[] = [{ path: { type: 'PathPrefix', value: '/' } }],
): MeshHttpRouteRule {
  return {
    matches,
    filters: [],
    backendRefs: [{ namespace: NS, name: backend, port: 8080, weight: 1, filters: [] }],
  };
}

function grpcRule(backend: string, matches: GrpcRouteMatch[] = []): MeshGrpcRouteRule {
  return {
    matches,
    filters: [],
    backendRefs: [{ namespace: NS, name: backend, port: 9000, weight: 1, filters: [] }],
  };
}

function httpRoute(
  name: string,
  rules: MeshHttpRouteRule[],
  opts: { parents?: MeshRouteParent[]; created?: string; namespace?: string; hostnames?: string[] } = {},
): MeshRoute {
  return {
    kind: 'HTTPRoute',
    namespace: opts.namespace ?? NS,
    name,
    ...(opts.created === undefined ? {} : { creationTimestamp: opts.created }),
    parents: opts.parents ?? [echoParent(80)],
    hostnames: opts.hostnames ?? [],
    rules,
  };
}

function grpcRoute(name: string, rules: MeshGrpcRouteRule[], created?: string): MeshRoute {
  return {
    kind: 'GRPCRoute',
    namespace: NS,
    name,
    ...(created === undefined ? {} : { creationTimestamp: created }),
    parents: [echoParent()],
    hostnames: [],
    rules,
  };
}

/** A request: "/path?query", headers by any-case name (lower-cased as the proxy does). */
function req(
  target: string,
  opts: {
    headers?: Record<string, string>;
    method?: string;
    protocol?: L7Request['protocol'];
    host?: string;
  } = {},
): L7Request {
  const q = target.indexOf('?');
  return {
    method: opts.method ?? 'GET',
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    authority: opts.host ?? 'echo',
    protocol: opts.protocol ?? 'http1',
  };
}

/** What a decision comes to, for tables: the first backend's name, 404, or 'service'. */
function outcome(d: RouteDecision): string {
  switch (d.kind) {
    case 'rule':
      return d.rule.backendRefs[0]?.name ?? '(no backend)';
    case 'no-match':
      return '404';
    case 'no-routes':
      return 'service';
  }
}

interface Case {
  name: string;
  req: L7Request;
  want: string;
}

function runCases(table: () => RouteTable, cases: Case[]): void {
  it.each(cases)('$name -> $want', ({ req: r, want }) => {
    expect(outcome(selectRoute(table(), r))).toBe(want);
  });
}

describe('MeshHTTPRouteMatching', () => {
  // tests/mesh/httproute-matching.yaml
  const route = httpRoute('mesh-matching', [
    httpRule('echo-v1', [
      { path: { type: 'PathPrefix', value: '/' } },
      { headers: [{ name: 'version', value: 'one' }] },
    ]),
    httpRule('echo-v2', [
      { path: { type: 'PathPrefix', value: '/v2' } },
      { headers: [{ name: 'version', value: 'two' }] },
    ]),
  ]);
  runCases(
    () => buildRouteTable([route], ECHO, 80),
    [
      { name: '/', req: req('/'), want: 'echo-v1' },
      { name: '/example', req: req('/example'), want: 'echo-v1' },
      { name: '/ version:one', req: req('/', { headers: { Version: 'one' } }), want: 'echo-v1' },
      { name: '/v2', req: req('/v2'), want: 'echo-v2' },
      { name: '/v2/example', req: req('/v2/example'), want: 'echo-v2' },
      { name: '/ version:two', req: req('/', { headers: { Version: 'two' } }), want: 'echo-v2' },
      { name: '/v2/', req: req('/v2/'), want: 'echo-v2' },
      { name: '/v2example is not a segment prefix', req: req('/v2example'), want: 'echo-v1' },
      { name: '/foo/v2/example', req: req('/foo/v2/example'), want: 'echo-v1' },
    ],
  );
});

describe('MeshHTTPRouteQueryParamMatching', () => {
  // tests/mesh/httproute-query-param-matching.yaml
  const q = (name: string, value: string) => ({ name, value });
  const route = httpRoute('mesh-query-param-matching', [
    httpRule('echo-v1', [{ queryParams: [q('animal', 'whale')] }]),
    httpRule('echo-v2', [{ queryParams: [q('animal', 'dolphin')] }]),
    httpRule('echo-v1', [
      { path: { type: 'PathPrefix', value: '/path1' }, queryParams: [q('animal', 'whale')] },
    ]),
    httpRule('echo-v2', [{ headers: [q('version', 'one')], queryParams: [q('animal', 'whale')] }]),
    httpRule('echo-v1', [
      { path: { type: 'PathPrefix', value: '/path3' }, queryParams: [q('animal', 'shark')] },
      {
        path: { type: 'PathPrefix', value: '/path4' },
        headers: [q('version', 'three')],
        queryParams: [q('animal', 'kraken')],
      },
    ]),
    httpRule('echo-v1', [{ path: { type: 'PathPrefix', value: '/path5' } }]),
    httpRule('echo-v2', [{ queryParams: [q('animal', 'hydra')] }]),
  ]);
  runCases(
    () => buildRouteTable([route], ECHO, 80),
    [
      { name: '/?animal=whale', req: req('/?animal=whale'), want: 'echo-v1' },
      { name: '/?animal=dolphin', req: req('/?animal=dolphin'), want: 'echo-v2' },
      {
        name: '/?animal=whale&otherparam=irrelevant',
        req: req('/?animal=whale&otherparam=irrelevant'),
        want: 'echo-v1',
      },
      { name: '/?animal=dolphin&color=yellow', req: req('/?animal=dolphin&color=yellow'), want: 'echo-v2' },
      { name: '/?color=blue', req: req('/?color=blue'), want: '404' },
      { name: '/?animal=dog', req: req('/?animal=dog'), want: '404' },
      { name: '/?animal=whaledolphin', req: req('/?animal=whaledolphin'), want: '404' },
      { name: '/', req: req('/'), want: '404' },
      { name: '/path1?animal=whale (longer prefix wins)', req: req('/path1?animal=whale'), want: 'echo-v1' },
      {
        name: '/?animal=whale version:one (more header matches win)',
        req: req('/?animal=whale', { headers: { version: 'one' } }),
        want: 'echo-v2',
      },
      { name: '/path3?animal=shark (first ORed match)', req: req('/path3?animal=shark'), want: 'echo-v1' },
      {
        name: '/path4?animal=kraken version:three (second ORed match)',
        req: req('/path4?animal=kraken', { headers: { version: 'three' } }),
        want: 'echo-v1',
      },
      { name: '/?animal=shark (ANDed: path missing)', req: req('/?animal=shark'), want: '404' },
      { name: '/path4?animal=kraken (ANDed: header missing)', req: req('/path4?animal=kraken'), want: '404' },
      { name: '/path5?animal=hydra (path beats query)', req: req('/path5?animal=hydra'), want: 'echo-v1' },
    ],
  );
});

describe('HTTPRouteMatchingAcrossRoutes (GAMMA: hostnames ignored)', () => {
  // tests/httproute-matching-across-routes.yaml, parents turned into the echo Service. For a Service
  // parent the route hostnames do not apply (GAMMA), so example.net/v2 reaches v2 too, where the
  // gateway profile expects v1.
  const part1 = httpRoute(
    'matching-part1',
    [
      httpRule('infra-backend-v1', [
        { path: { type: 'PathPrefix', value: '/' } },
        { headers: [{ name: 'version', value: 'one' }] },
      ]),
    ],
    { hostnames: ['example.com', 'example.net'] },
  );
  const part2 = httpRoute(
    'matching-part2',
    [
      httpRule('infra-backend-v2', [
        { path: { type: 'PathPrefix', value: '/v2' } },
        { headers: [{ name: 'version', value: 'two' }] },
      ]),
    ],
    { hostnames: ['example.com'] },
  );
  runCases(
    () => buildRouteTable([part2, part1], ECHO, 80),
    [
      { name: 'example.com /', req: req('/', { host: 'example.com' }), want: 'infra-backend-v1' },
      {
        name: 'example.com /example',
        req: req('/example', { host: 'example.com' }),
        want: 'infra-backend-v1',
      },
      {
        name: 'example.net /example',
        req: req('/example', { host: 'example.net' }),
        want: 'infra-backend-v1',
      },
      {
        name: 'example.com /example version:one',
        req: req('/example', { host: 'example.com', headers: { Version: 'one' } }),
        want: 'infra-backend-v1',
      },
      { name: 'example.com /v2', req: req('/v2', { host: 'example.com' }), want: 'infra-backend-v2' },
      {
        name: 'example.net /v2 (hostnames ignored)',
        req: req('/v2', { host: 'example.net' }),
        want: 'infra-backend-v2',
      },
      {
        name: 'example.com /v2/example',
        req: req('/v2/example', { host: 'example.com' }),
        want: 'infra-backend-v2',
      },
      {
        name: 'example.com / version:two',
        req: req('/', { host: 'example.com', headers: { Version: 'two' } }),
        want: 'infra-backend-v2',
      },
    ],
  );
});

describe('precedence', () => {
  const P = (value: string) => ({ path: { type: 'PathPrefix' as const, value } });
  const E = (value: string) => ({ path: { type: 'Exact' as const, value } });
  const R = (value: string) => ({ path: { type: 'RegularExpression' as const, value } });
  const cases: { name: string; routes: MeshRoute[]; req: L7Request; want: string }[] = [
    {
      name: 'Exact beats a longer prefix',
      routes: [httpRoute('r', [httpRule('prefix', [P('/a/b')]), httpRule('exact', [E('/a/b')])])],
      req: req('/a/b'),
      want: 'exact',
    },
    {
      name: 'longest prefix wins regardless of rule order',
      routes: [httpRoute('r', [httpRule('short', [P('/a')]), httpRule('long', [P('/a/b')])])],
      req: req('/a/b/c'),
      want: 'long',
    },
    {
      name: 'prefix length ignores the trailing slash',
      routes: [httpRoute('r', [httpRule('slash', [P('/a/')]), httpRule('plain', [P('/a')])])],
      req: req('/a/x'),
      want: 'slash',
    },
    {
      name: 'any prefix beats a regex (Istio order)',
      routes: [httpRoute('r', [httpRule('regex', [R('/a/b/c/.*')]), httpRule('root', [P('/')])])],
      req: req('/a/b/c/d'),
      want: 'root',
    },
    {
      name: 'longer regex first',
      routes: [httpRoute('r', [httpRule('short', [R('/.*')]), httpRule('long', [R('/a/.*')])])],
      req: req('/a/b'),
      want: 'long',
    },
    {
      name: 'method match beats header matches',
      routes: [
        httpRoute('r', [
          httpRule('headers', [
            {
              ...P('/'),
              headers: [
                { name: 'a', value: '1' },
                { name: 'b', value: '2' },
              ],
            },
          ]),
          httpRule('method', [{ ...P('/'), method: 'POST' }]),
        ]),
      ],
      req: req('/', { method: 'POST', headers: { a: '1', b: '2' } }),
      want: 'method',
    },
    {
      name: 'method must equal',
      routes: [httpRoute('r', [httpRule('post', [{ method: 'POST' }])])],
      req: req('/', { method: 'GET' }),
      want: '404',
    },
    {
      name: 'more headers beat more query params',
      routes: [
        httpRoute('r', [
          httpRule('query', [
            {
              queryParams: [
                { name: 'a', value: '1' },
                { name: 'b', value: '2' },
              ],
            },
          ]),
          httpRule('header', [{ headers: [{ name: 'h', value: '1' }] }]),
        ]),
      ],
      req: req('/?a=1&b=2', { headers: { h: '1' } }),
      want: 'header',
    },
    {
      name: 'duplicate header names count once',
      routes: [
        httpRoute('r', [
          httpRule('dup', [
            {
              headers: [
                { name: 'a', value: '1' },
                { name: 'A', value: '1' },
              ],
            },
          ]),
          httpRule('two', [
            {
              headers: [
                { name: 'a', value: '1' },
                { name: 'b', value: '2' },
              ],
            },
          ]),
        ]),
      ],
      req: req('/', { headers: { a: '1', b: '2' } }),
      want: 'two',
    },
    {
      name: 'tie: the oldest route wins',
      routes: [
        httpRoute('a-new', [httpRule('new')], { created: '2024-02-01T00:00:00Z' }),
        httpRoute('z-old', [httpRule('old')], { created: '2024-01-01T00:00:00Z' }),
      ],
      req: req('/'),
      want: 'old',
    },
    {
      name: 'tie on age: namespace/name order',
      routes: [
        httpRoute('beta', [httpRule('beta')], { created: '2024-01-01T00:00:00Z' }),
        httpRoute('alpha', [httpRule('alpha')], { created: '2024-01-01T00:00:00Z' }),
      ],
      req: req('/'),
      want: 'alpha',
    },
    {
      name: 'a route without creationTimestamp counts as newest',
      routes: [
        httpRoute('a', [httpRule('undated')]),
        httpRoute('b', [httpRule('dated')], { created: '2024-01-01T00:00:00Z' }),
      ],
      req: req('/'),
      want: 'dated',
    },
    {
      name: 'tie within a route: first rule',
      routes: [httpRoute('r', [httpRule('first', [P('/x')]), httpRule('second', [P('/x')])])],
      req: req('/x'),
      want: 'first',
    },
    {
      name: 'specificity beats route age',
      routes: [
        httpRoute('old', [httpRule('old', [P('/')])], { created: '2020-01-01T00:00:00Z' }),
        httpRoute('new', [httpRule('new', [P('/api')])], { created: '2025-01-01T00:00:00Z' }),
      ],
      req: req('/api/x'),
      want: 'new',
    },
  ];
  it.each(cases)('$name', ({ routes, req: r, want }) => {
    expect(outcome(selectRoute(buildRouteTable(routes, ECHO, 80), r))).toBe(want);
  });

  it('returns the match that matched, for ReplacePrefixMatch', () => {
    const route = httpRoute('r', [httpRule('b', [P('/foo'), P('/foo/bar')])]);
    const d = selectRoute(buildRouteTable([route], ECHO, 80), req('/foo/bar/baz'));
    expect(d).toMatchObject({ kind: 'rule', ruleIndex: 0, match: { path: { value: '/foo/bar' } } });
    const d2 = selectRoute(buildRouteTable([route], ECHO, 80), req('/foo/x'));
    expect(d2).toMatchObject({ kind: 'rule', ruleIndex: 0, match: { path: { value: '/foo' } } });
  });

  it('reports the rule index within its route', () => {
    const route = httpRoute('r', [httpRule('a', [E('/a')]), httpRule('b', [E('/b')])]);
    expect(selectRoute(buildRouteTable([route], ECHO, 80), req('/b'))).toMatchObject({
      kind: 'rule',
      ruleIndex: 1,
      route,
    });
  });
});

describe('attachment', () => {
  const any = httpRoute('any-port', [httpRule('any')], { parents: [echoParent()] });
  const p80 = httpRoute('port-80', [httpRule('p80', [{ path: { type: 'PathPrefix', value: '/p' } }])], {
    parents: [echoParent(80)],
  });
  const other = httpRoute('other-svc', [httpRule('other', [{ path: { type: 'Exact', value: '/o' } }])], {
    parents: [{ kind: 'Service', namespace: NS, name: 'other' }],
  });
  const gw = httpRoute('gateway-parent', [httpRule('gw', [{ path: { type: 'Exact', value: '/g' } }])], {
    parents: [{ kind: 'Gateway', namespace: NS, name: 'echo' }],
  });
  const named = httpRoute('section', [httpRule('named', [{ path: { type: 'Exact', value: '/n' } }])], {
    parents: [{ kind: 'Service', namespace: NS, name: 'echo', sectionName: 'http' }],
  });
  const service = {
    ...ECHO,
    ports: [
      { port: 80, name: 'http' },
      { port: 8080, name: 'alt' },
    ],
  };

  it('a parent without port attaches to every port; with port only to it', () => {
    expect(buildRouteTable([any, p80], service, 80).routes.map((r) => r.name)).toEqual([
      'any-port',
      'port-80',
    ]);
    expect(buildRouteTable([any, p80], service, 8080).routes.map((r) => r.name)).toEqual(['any-port']);
    expect(outcome(selectRoute(buildRouteTable([p80], service, 8080), req('/p')))).toBe('service');
  });

  it('routes of another Service or a Gateway parent do not attach', () => {
    const t = buildRouteTable([other, gw], service, 80);
    expect(t.routes).toEqual([]);
    expect(selectRoute(t, req('/o'))).toEqual({ kind: 'no-routes' });
  });

  it('a sectionName parent attaches to the port of that name', () => {
    expect(buildRouteTable([named], service, 80).routes.map((r) => r.name)).toEqual(['section']);
    expect(buildRouteTable([named], service, 8080).routes).toEqual([]);
    expect(buildRouteTable([named], ECHO, 80).routes).toEqual([]);
  });

  it('no route attached: the Service itself', () => {
    expect(selectRoute(buildRouteTable([], ECHO, 80), req('/'))).toEqual({ kind: 'no-routes' });
  });

  it('routes attached, none matching: 404', () => {
    expect(selectRoute(buildRouteTable([p80], ECHO, 80), req('/q'))).toEqual({ kind: 'no-match' });
  });
});

describe('GRPCRoute', () => {
  const grpc = (path: string, headers: Record<string, string> = {}) =>
    req(path, {
      method: 'POST',
      protocol: 'grpc',
      headers: { 'content-type': 'application/grpc', ...headers },
    });
  const routes = [
    grpcRoute('grpc', [
      grpcRule('svc-any', [{ method: { service: 'pkg.Echo' } }]),
      grpcRule('method-exact', [{ method: { service: 'pkg.Echo', method: 'Get' } }]),
      grpcRule('method-only', [{ method: { method: 'Health' } }]),
      grpcRule('header', [
        { method: { service: 'pkg.Echo', method: 'Get' }, headers: [{ name: 'X-Canary', value: 'yes' }] },
      ]),
      grpcRule('regex', [{ method: { type: 'RegularExpression', service: 'pkg\\.Ot.*' } }]),
    ]),
  ];
  const http = httpRoute('http', [httpRule('http-root')]);
  runCases(
    () => buildRouteTable(routes, ECHO, 80),
    [
      { name: 'service and method', req: grpc('/pkg.Echo/Get'), want: 'method-exact' },
      { name: 'service only: another method', req: grpc('/pkg.Echo/List'), want: 'svc-any' },
      {
        name: 'more headers win on a tie of characters',
        req: grpc('/pkg.Echo/Get', { 'x-canary': 'yes' }),
        want: 'header',
      },
      { name: 'method without service', req: grpc('/any.Svc/Health'), want: 'method-only' },
      { name: 'regex service', req: grpc('/pkg.Other/Do'), want: 'regex' },
      { name: 'nothing matches: 404 (UNIMPLEMENTED)', req: grpc('/pkg.Nope/Do'), want: '404' },
      { name: 'a plain HTTP request sees no GRPCRoute', req: req('/pkg.Echo/Get'), want: '404' },
    ],
  );

  it('a rule without matches takes every gRPC request', () => {
    const t = buildRouteTable([grpcRoute('all', [grpcRule('all')])], ECHO, 80);
    expect(outcome(selectRoute(t, grpc('/x.Y/Z')))).toBe('all');
    expect(outcome(selectRoute(t, grpc('/not-grpc-shaped')))).toBe('all');
    expect(selectRoute(t, grpc('/x.Y/Z'))).not.toHaveProperty('match');
  });

  it('gRPC tries GRPCRoutes first, then HTTPRoutes', () => {
    const t = buildRouteTable([...routes, http], ECHO, 80);
    expect(outcome(selectRoute(t, grpc('/pkg.Echo/Get')))).toBe('method-exact');
    expect(outcome(selectRoute(t, grpc('/pkg.Nope/Do')))).toBe('http-root');
    expect(outcome(selectRoute(t, req('/pkg.Echo/Get')))).toBe('http-root');
  });

  it('GRPCRoute precedence: more service characters, then oldest route', () => {
    const older = grpcRoute(
      'b',
      [grpcRule('older', [{ method: { service: 'a.Bc' } }])],
      '2024-01-01T00:00:00Z',
    );
    const newer = grpcRoute(
      'a',
      [grpcRule('newer', [{ method: { service: 'a.Bc' } }])],
      '2024-06-01T00:00:00Z',
    );
    const longer = grpcRoute(
      'c',
      [grpcRule('longer', [{ method: { type: 'RegularExpression', service: 'a\\.Bc' } }])],
      '2025-01-01T00:00:00Z',
    );
    expect(outcome(selectRoute(buildRouteTable([newer, older], ECHO, 80), grpc('/a.Bc/M')))).toBe('older');
    expect(outcome(selectRoute(buildRouteTable([newer, older, longer], ECHO, 80), grpc('/a.Bc/M')))).toBe(
      'longer',
    );
  });
});

describe('MeshPorts', () => {
  // tests/mesh/mesh-ports.yaml: mesh-split-v1 attaches to echo-v1 port 80 only, mesh-split-v2 to
  // every port of echo-v2; the route applies (its ResponseHeaderModifier sets X-Header-Set) or not.
  const v1 = httpRoute('mesh-split-v1', [httpRule('echo-v1')], {
    parents: [{ kind: 'Service', namespace: NS, name: 'echo-v1', port: 80 }],
  });
  const v2 = httpRoute('mesh-split-v2', [httpRule('echo-v2')], {
    parents: [{ kind: 'Service', namespace: NS, name: 'echo-v2' }],
  });
  it.each([
    { name: 'explicit port set, send to that port', svc: 'echo-v1', port: 80, want: 'mesh-split-v1' },
    { name: 'explicit port, send to an excluded port', svc: 'echo-v1', port: 8080, want: 'service' },
    { name: 'no port set (80)', svc: 'echo-v2', port: 80, want: 'mesh-split-v2' },
    { name: 'no port set (8080)', svc: 'echo-v2', port: 8080, want: 'mesh-split-v2' },
  ])('$name', ({ svc, port, want }) => {
    const d = selectRoute(
      buildRouteTable([v1, v2], { namespace: NS, name: svc }, port),
      req('/', { host: svc }),
    );
    expect(d.kind === 'rule' ? d.route.name : d.kind === 'no-routes' ? 'service' : '404').toBe(want);
  });
});

describe('MeshHTTPRouteNamedRule', () => {
  // tests/mesh/httproute-named-rule.yaml: a named and an unnamed rule; the decision carries the name
  const named = {
    ...httpRule('echo-v1', [{ path: { type: 'PathPrefix', value: '/named' } }]),
    name: 'named-rule',
  };
  const unnamed = httpRule('echo-v2', [{ path: { type: 'PathPrefix', value: '/unnamed' } }]);
  const table = () => buildRouteTable([httpRoute('mesh-named-rule', [named, unnamed])], ECHO, 80);
  it.each([
    { path: '/named', backend: 'echo-v1', ruleName: 'named-rule' },
    { path: '/unnamed', backend: 'echo-v2', ruleName: undefined },
  ])('$path -> $backend', ({ path, backend, ruleName }) => {
    const d = selectRoute(table(), req(path));
    expect(outcome(d)).toBe(backend);
    expect(d.kind === 'rule' ? d.rule.name : 'no rule').toBe(ruleName);
  });
});
