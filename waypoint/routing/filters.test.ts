// Unit tables ported from the Gateway API conformance cases (kubernetes-sigs/gateway-api
// conformance/tests/mesh/httproute-{rewrite-path,redirect-*,request-header-modifier}, and the gateway
// profile's HTTPRouteRewritePath and HTTPRouteRedirectPortAndScheme): each upstream manifest becomes
// MeshRoute rules, each request is routed by the route table and the chosen rule's filters applied
// the way the proxy applies them.
import { describe, expect, it } from 'vitest';
import type { MeshHttpRouteRule, MeshRoute } from '../../core/model/mesh.js';
import type { RouteFilter } from '../../core/model/resources/gateway-api-common.js';
import type { L7Request } from './l7-request.js';
import { authorityHost, modifyHeaders, redirectOf, rewriteUrl, type HeaderModifier } from './filters.js';
import { buildRouteTable, selectRoute } from './route-table.js';

const NS = 'gateway-conformance-mesh';

function req(target: string, headers: Record<string, string> = {}, authority = 'echo'): L7Request {
  const q = target.indexOf('?');
  return {
    method: 'GET',
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    authority,
    protocol: 'http1',
  };
}

/** A rule matching PathPrefix `prefix` with `filters` (as the upstream manifests write them). */
const rule = (prefix: string, ...filters: RouteFilter[]): MeshHttpRouteRule => ({
  matches: [{ path: { type: 'PathPrefix', value: prefix } }],
  filters,
  backendRefs: [{ namespace: NS, name: 'echo-v1', port: 8080, weight: 1, filters: [] }],
});

const routeOf = (name: string, rules: MeshHttpRouteRule[]): MeshRoute => ({
  kind: 'HTTPRoute',
  namespace: NS,
  name,
  parents: [{ kind: 'Service', namespace: NS, name: 'echo', port: 80 }],
  hostnames: [],
  rules,
});

interface Forwarded {
  path: string;
  authority: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Routes `r` and applies the rule's filters as the proxy does: a redirect answers, the rest forward. */
function apply(
  route: MeshRoute,
  r: L7Request,
  port = 80,
): { redirect: { status: number; location: string } } | { forward: Forwarded } {
  const d = selectRoute(buildRouteTable([route], { namespace: NS, name: 'echo' }, port), r);
  if (d.kind !== 'rule') throw new Error(`no rule for ${r.path}: ${d.kind}`);
  let fwd: Forwarded = { path: r.path, authority: r.authority, headers: r.headers };
  for (const f of d.rule.filters) {
    if (f.requestRedirect) return { redirect: redirectOf(r, d.match, f.requestRedirect, port) };
    if (f.urlRewrite) {
      const rw = rewriteUrl({ ...r, authority: fwd.authority }, d.match, f.urlRewrite);
      fwd = { ...fwd, path: rw.path, authority: rw.authority };
    }
    if (f.requestHeaderModifier)
      fwd = { ...fwd, headers: modifyHeaders(fwd.headers, f.requestHeaderModifier) };
  }
  return { forward: fwd };
}

const rewritePrefix = (replacePrefixMatch: string): RouteFilter => ({
  type: 'URLRewrite',
  urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch } },
});
const rewriteFull = (replaceFullPath: string): RouteFilter => ({
  type: 'URLRewrite',
  urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath } },
});
const redirect = (rd: NonNullable<RouteFilter['requestRedirect']>): RouteFilter => ({
  type: 'RequestRedirect',
  requestRedirect: rd,
});
const headerMod = (m: HeaderModifier): RouteFilter => ({
  type: 'RequestHeaderModifier',
  requestHeaderModifier: {
    ...(m.set ? { set: [...m.set] } : {}),
    ...(m.add ? { add: [...m.add] } : {}),
    ...(m.remove ? { remove: [...m.remove] } : {}),
  },
});

describe('MeshHTTPRouteRewritePath / HTTPRouteRewritePath', () => {
  const modify = headerMod({
    set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }],
    add: [
      { name: 'X-Header-Add', value: 'header-val-1' },
      { name: 'X-Header-Add-Append', value: 'header-val-2' },
    ],
    remove: ['X-Header-Remove'],
  });
  const route = routeOf('mesh-rewrite-path', [
    rule('/prefix/one', rewritePrefix('/one')),
    rule('/strip-prefix', rewritePrefix('/')),
    rule('/full/one', rewriteFull('/one')),
    rule('/full/rewrite-path-and-modify-headers', rewriteFull('/test'), modify),
    rule('/prefix/rewrite-path-and-modify-headers', rewritePrefix('/prefix'), modify),
  ]);
  const sent = {
    'X-Header-Remove': 'remove-val',
    'X-Header-Add-Append': 'append-val-1',
    'X-Header-Set': 'set-val',
  };
  const expected = {
    'x-header-add': 'header-val-1',
    'x-header-add-append': 'append-val-1,header-val-2',
    'x-header-set': 'set-overwrites-values',
  };
  it.each([
    { path: '/prefix/one/two', want: '/one/two' },
    { path: '/strip-prefix/three', want: '/three' },
    { path: '/strip-prefix', want: '/' },
    { path: '/full/one/two', want: '/one' },
    { path: '/full/rewrite-path-and-modify-headers/test', want: '/test', headers: true },
    { path: '/prefix/rewrite-path-and-modify-headers/one', want: '/prefix/one', headers: true },
  ])('$path -> $want', ({ path, want, headers }) => {
    const out = apply(route, req(path, headers ? sent : {}));
    expect(out).toHaveProperty('forward');
    if (!('forward' in out)) return;
    expect(out.forward.path).toBe(want);
    expect(out.forward.authority).toBe('echo');
    if (headers) {
      expect(out.forward.headers).toEqual(expected);
      expect(out.forward.headers).not.toHaveProperty('x-header-remove');
    }
  });

  it('keeps the query out of the path (the caller appends it)', () => {
    const out = apply(route, req('/prefix/one/two?a=1'));
    expect(out).toEqual({ forward: { path: '/one/two', authority: 'echo', headers: {} } });
  });
});

describe('rewriteUrl', () => {
  it.each([
    {
      name: 'hostname replaces the authority',
      rw: { hostname: 'example.org' },
      want: { path: '/a/b', authority: 'example.org' },
    },
    {
      name: 'hostname and prefix',
      rw: { hostname: 'x', path: { type: 'ReplacePrefixMatch' as const, replacePrefixMatch: '/z' } },
      want: { path: '/z/b', authority: 'x' },
    },
    { name: 'nothing set: unchanged', rw: {}, want: { path: '/a/b', authority: 'echo:80' } },
  ])('$name', ({ rw, want }) => {
    expect(rewriteUrl(req('/a/b', {}, 'echo:80'), { path: { type: 'PathPrefix', value: '/a' } }, rw)).toEqual(
      want,
    );
  });

  it.each([
    { name: 'no match: the default prefix /', match: undefined, want: '/new/a/b' },
    { name: 'match without path: the default prefix /', match: { method: 'GET' as const }, want: '/new/a/b' },
    {
      name: 'Exact match: the whole path',
      match: { path: { type: 'Exact' as const, value: '/a/b' } },
      want: '/new',
    },
    {
      name: 'RegularExpression match: path kept',
      match: { path: { type: 'RegularExpression' as const, value: '/a/.*' } },
      want: '/a/b',
    },
    {
      name: 'prefix that does not match: path kept',
      match: { path: { type: 'PathPrefix' as const, value: '/zzz' } },
      want: '/a/b',
    },
  ])('ReplacePrefixMatch with $name', ({ match, want }) => {
    const rw = { path: { type: 'ReplacePrefixMatch' as const, replacePrefixMatch: '/new' } };
    expect(rewriteUrl(req('/a/b'), match, rw).path).toBe(want);
  });
});

describe('MeshHTTPRouteRedirectPath', () => {
  const rp = { type: 'ReplacePrefixMatch' as const, replacePrefixMatch: '/replacement-prefix' };
  const route = routeOf('mesh-redirect-path', [
    rule('/original-prefix', redirect({ path: rp })),
    rule('/full', redirect({ path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } })),
    rule('/path-and-host', redirect({ hostname: 'example.org', path: rp })),
    rule('/path-and-status', redirect({ path: rp, statusCode: 301 })),
    rule(
      '/full-path-and-host',
      redirect({
        hostname: 'example.org',
        path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' },
      }),
    ),
    rule(
      '/full-path-and-status',
      redirect({ path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' }, statusCode: 301 }),
    ),
  ]);
  it.each([
    { path: '/original-prefix/lemon', status: 302, location: 'http://echo/replacement-prefix/lemon' },
    { path: '/full/path/original', status: 302, location: 'http://echo/full-path-replacement' },
    { path: '/path-and-host', status: 302, location: 'http://example.org/replacement-prefix' },
    { path: '/path-and-status', status: 301, location: 'http://echo/replacement-prefix' },
    { path: '/full-path-and-host', status: 302, location: 'http://example.org/replacement-full' },
    { path: '/full-path-and-status', status: 301, location: 'http://echo/replacement-full' },
  ])('$path -> $status $location', ({ path, status, location }) => {
    expect(apply(route, req(path))).toEqual({ redirect: { status, location } });
  });
});

describe('MeshHTTPRouteRedirectPort', () => {
  const route = routeOf('mesh-redirect-port', [
    rule('/port', redirect({ port: 8083 })),
    rule('/port-and-host', redirect({ hostname: 'example.org', port: 8083 })),
    rule('/port-and-status', redirect({ port: 8083, statusCode: 301 })),
    rule('/port-and-host-and-status', redirect({ port: 8083, hostname: 'example.org', statusCode: 302 })),
  ]);
  it.each([
    { path: '/port', status: 302, location: 'http://echo:8083/port' },
    { path: '/port-and-host', status: 302, location: 'http://example.org:8083/port-and-host' },
    { path: '/port-and-status', status: 301, location: 'http://echo:8083/port-and-status' },
    {
      path: '/port-and-host-and-status',
      status: 302,
      location: 'http://example.org:8083/port-and-host-and-status',
    },
  ])('$path -> $status $location', ({ path, status, location }) => {
    expect(apply(route, req(path))).toEqual({ redirect: { status, location } });
  });
});

describe('MeshHTTPRouteRedirectHostAndStatus', () => {
  const route = routeOf('mesh-redirect-host-and-status', [
    rule('/hostname-redirect', redirect({ hostname: 'example.org' })),
    rule('/host-and-status', redirect({ statusCode: 301, hostname: 'example.org' })),
  ]);
  it.each([
    { path: '/hostname-redirect', status: 302, location: 'http://example.org/hostname-redirect' },
    { path: '/host-and-status', status: 301, location: 'http://example.org/host-and-status' },
  ])('$path -> $status $location', ({ path, status, location }) => {
    expect(apply(route, req(path))).toEqual({ redirect: { status, location } });
  });
});

describe('MeshHTTPRouteSchemeRedirect', () => {
  const route = routeOf('mesh-redirect-scheme', [
    rule('/scheme', redirect({ scheme: 'https' })),
    rule('/scheme-and-host', redirect({ hostname: 'example.org', scheme: 'https' })),
    rule('/scheme-and-status', redirect({ scheme: 'https', statusCode: 301 })),
    rule(
      '/scheme-and-host-and-status',
      redirect({ scheme: 'https', statusCode: 302, hostname: 'example.org' }),
    ),
  ]);
  it.each([
    { path: '/scheme', status: 302, location: 'https://echo/scheme' },
    { path: '/scheme-and-host', status: 302, location: 'https://example.org/scheme-and-host' },
    { path: '/scheme-and-status', status: 301, location: 'https://echo/scheme-and-status' },
    {
      path: '/scheme-and-host-and-status',
      status: 302,
      location: 'https://example.org/scheme-and-host-and-status',
    },
  ])('$path -> $status $location', ({ path, status, location }) => {
    expect(apply(route, req(path))).toEqual({ redirect: { status, location } });
  });
});

describe('MeshHTTPRoute303/307/308Redirect', () => {
  it.each([303, 307, 308] as const)('%i', (statusCode) => {
    const route = routeOf('mesh-redirect', [rule('/', redirect({ hostname: 'example.org', statusCode }))]);
    expect(apply(route, req('/x'))).toEqual({
      redirect: { status: statusCode, location: 'http://example.org/x' },
    });
  });
});

describe('HTTPRouteRedirectPortAndScheme (Service port as the listener port)', () => {
  const h = 'example.org';
  const route = routeOf('redirect-port-and-scheme', [
    rule('/scheme-nil-and-port-nil', redirect({ hostname: h })),
    rule('/scheme-nil-and-port-80', redirect({ port: 80, hostname: h })),
    rule('/scheme-nil-and-port-8080', redirect({ port: 8080, hostname: h })),
    rule('/scheme-https-and-port-nil', redirect({ scheme: 'https', hostname: h })),
    rule('/scheme-https-and-port-443', redirect({ scheme: 'https', port: 443, hostname: h })),
    rule('/scheme-https-and-port-8443', redirect({ scheme: 'https', port: 8443, hostname: h })),
  ]);
  it.each([
    { port: 80, path: '/scheme-nil-and-port-nil', location: 'http://example.org/scheme-nil-and-port-nil' },
    { port: 80, path: '/scheme-nil-and-port-80', location: 'http://example.org/scheme-nil-and-port-80' },
    {
      port: 80,
      path: '/scheme-nil-and-port-8080',
      location: 'http://example.org:8080/scheme-nil-and-port-8080',
    },
    {
      port: 80,
      path: '/scheme-https-and-port-nil',
      location: 'https://example.org/scheme-https-and-port-nil',
    },
    {
      port: 80,
      path: '/scheme-https-and-port-443',
      location: 'https://example.org/scheme-https-and-port-443',
    },
    {
      port: 80,
      path: '/scheme-https-and-port-8443',
      location: 'https://example.org:8443/scheme-https-and-port-8443',
    },
    {
      port: 8080,
      path: '/scheme-nil-and-port-nil',
      location: 'http://example.org:8080/scheme-nil-and-port-nil',
    },
    { port: 8080, path: '/scheme-nil-and-port-80', location: 'http://example.org/scheme-nil-and-port-80' },
    {
      port: 8080,
      path: '/scheme-https-and-port-nil',
      location: 'https://example.org/scheme-https-and-port-nil',
    },
  ])('service port $port, $path -> $location', ({ port, path, location }) => {
    const r = req(path, {}, `echo:${port}`);
    const portRoute = { ...route, parents: [{ kind: 'Service' as const, namespace: NS, name: 'echo' }] };
    expect(apply(portRoute, r, port)).toEqual({ redirect: { status: 302, location } });
  });
});

describe('redirectOf details', () => {
  it.each([
    { name: 'query kept', r: req('/a?x=1&y=2'), rd: {}, port: 80, want: 'http://echo/a?x=1&y=2' },
    {
      name: 'port stripped from the authority',
      r: req('/a', {}, 'echo:9090'),
      rd: {},
      port: 9090,
      want: 'http://echo:9090/a',
    },
    {
      name: 'IPv6 authority',
      r: req('/a', {}, '[fd00::1]:8080'),
      rd: {},
      port: 8080,
      want: 'http://[fd00::1]:8080/a',
    },
    {
      name: 'IPv6 hostname is bracketed',
      r: req('/a'),
      rd: { hostname: 'fd00::2' },
      port: 80,
      want: 'http://[fd00::2]/a',
    },
    {
      name: 'https on port 80 shows it',
      r: req('/a'),
      rd: { scheme: 'https' as const, port: 80 },
      port: 80,
      want: 'https://echo:80/a',
    },
  ])('$name', ({ r, rd, port, want }) => {
    expect(redirectOf(r, undefined, rd, port)).toEqual({ status: 302, location: want });
  });
});

describe('authorityHost', () => {
  it.each([
    ['echo', 'echo'],
    ['echo:80', 'echo'],
    ['10.0.0.1:8080', '10.0.0.1'],
    ['[::1]:80', '[::1]'],
    ['[::1]', '[::1]'],
    ['fd00::1', 'fd00::1'],
    ['', ''],
  ])('%s -> %s', (authority, want) => {
    expect(authorityHost(authority)).toBe(want);
  });
});

describe('MeshHTTPRouteRequestHeaderModifier (modifyHeaders)', () => {
  const cases: {
    name: string;
    m: HeaderModifier;
    sent: Record<string, string | string[]>;
    want: Record<string, string | string[]>;
  }[] = [
    {
      name: 'set adds',
      m: { set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }] },
      sent: { 'some-other-header': 'val' },
      want: { 'some-other-header': 'val', 'x-header-set': 'set-overwrites-values' },
    },
    {
      name: 'set overwrites',
      m: { set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }] },
      sent: { 'some-other-header': 'val', 'x-header-set': 'some-other-value' },
      want: { 'some-other-header': 'val', 'x-header-set': 'set-overwrites-values' },
    },
    {
      name: 'add adds',
      m: { add: [{ name: 'X-Header-Add', value: 'add-appends-values' }] },
      sent: { 'some-other-header': 'val' },
      want: { 'some-other-header': 'val', 'x-header-add': 'add-appends-values' },
    },
    {
      name: 'add appends with ,',
      m: { add: [{ name: 'X-Header-Add', value: 'add-appends-values' }] },
      sent: { 'some-other-header': 'val', 'x-header-add': 'some-other-value' },
      want: { 'some-other-header': 'val', 'x-header-add': 'some-other-value,add-appends-values' },
    },
    {
      name: 'remove',
      m: { remove: ['X-Header-Remove'] },
      sent: { 'x-header-remove': 'val' },
      want: {},
    },
    {
      name: 'multiple',
      m: {
        set: [
          { name: 'X-Header-Set-1', value: 'header-set-1' },
          { name: 'X-Header-Set-2', value: 'header-set-2' },
        ],
        add: [
          { name: 'X-Header-Add-1', value: 'header-add-1' },
          { name: 'X-Header-Add-2', value: 'header-add-2' },
          { name: 'X-Header-Add-3', value: 'header-add-3' },
        ],
        remove: ['X-Header-Remove-1', 'X-Header-Remove-2'],
      },
      sent: {
        'x-header-set-2': 'set-val-2',
        'x-header-add-2': 'add-val-2',
        'x-header-remove-2': 'remove-val-2',
        'another-header': 'another-header-val',
      },
      want: {
        'x-header-set-1': 'header-set-1',
        'x-header-set-2': 'header-set-2',
        'x-header-add-1': 'header-add-1',
        'x-header-add-2': 'add-val-2,header-add-2',
        'x-header-add-3': 'header-add-3',
        'another-header': 'another-header-val',
      },
    },
    {
      name: 'case-insensitivity (canonical names in the filter, lower-case in the request)',
      m: {
        set: [{ name: 'X-Header-Set', value: 'header-set' }],
        add: [{ name: 'X-Header-Add', value: 'header-add' }],
        remove: ['X-Header-Remove'],
      },
      sent: {
        'x-header-set': 'original-val-set',
        'x-header-add': 'original-val-add',
        'x-header-remove': 'original-val-remove',
        'another-header': 'another-header-val',
      },
      want: {
        'x-header-set': 'header-set',
        'x-header-add': 'original-val-add,header-add',
        'another-header': 'another-header-val',
      },
    },
    {
      name: 'add to a repeated header joins it first',
      m: { add: [{ name: 'x', value: 'c' }] },
      sent: { x: ['a', 'b'] },
      want: { x: 'a,b,c' },
    },
    {
      name: 'two adds of one name both append',
      m: {
        add: [
          { name: 'x', value: '1' },
          { name: 'X', value: '2' },
        ],
      },
      sent: {},
      want: { x: '1,2' },
    },
    {
      name: 'remove first, then set and add: a removed name can be set again',
      m: { remove: ['x'], set: [{ name: 'x', value: 'new' }], add: [{ name: 'x', value: 'more' }] },
      sent: { x: 'old' },
      want: { x: 'new,more' },
    },
    {
      name: 'untouched repeated headers keep their values',
      m: { set: [{ name: 'y', value: '1' }] },
      sent: { 'set-cookie': ['a=1', 'b=2'] },
      want: { 'set-cookie': ['a=1', 'b=2'], y: '1' },
    },
  ];
  it.each(cases)('$name', ({ m, sent, want }) => {
    expect(modifyHeaders(sent, m)).toEqual(want);
  });

  it('does not change its input, drops undefined values and lower-cases names', () => {
    const sent = { x: 'a', Upper: 'b', gone: undefined, n: 5 };
    const out = modifyHeaders(sent, { add: [{ name: 'x', value: 'b' }] });
    expect(out).toEqual({ x: 'a,b', upper: 'b', n: '5' });
    expect(sent).toEqual({ x: 'a', Upper: 'b', gone: undefined, n: 5 });
  });
});
