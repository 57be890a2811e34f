// Gateway API's mesh conformance suite (kubernetes-sigs/gateway-api conformance/tests/mesh/*.go and
// *.yaml) ported case by case, by name, onto the local cluster: each case's routes are written as
// the test's manifests (the controller watches the directory), then its requests are made from a
// client pod with plain curl (and the in-pod L7 client for weights and gRPC), so every request goes
// kernel redirect -> source ztunnel -> waypoint -> destination ztunnel -> echo pod. As upstream,
// each expectation is retried until it holds (eventual consistency) and must then hold twice in a
// row. The upstream namespace, Services (echo, echo-v1, echo-v2; ports 80 and 8080 -> 8080, gRPC
// 7070) and the Gateway API retry/timeout cases (gateway profile) are ported to GAMMA routes on
// the Service `echo`. One cluster for the file; the waypoint's log is printed for failing cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type CurlResult } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import type { L7ClientResult, L7ClientSpec } from '../../local-cluster/l7-client.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { GRPC_PORT, HTTP_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import { kernelTestsEnabled } from './kernel-env.js';

const enabled = kernelTestsEnabled();
const NS = 'gateway-conformance-mesh';

const echoPorts = [
  { name: 'http', port: 80, targetPort: HTTP_PORT },
  { name: 'http-alt', port: 8080, targetPort: HTTP_PORT },
  { name: 'grpc', port: GRPC_PORT, targetPort: GRPC_PORT },
];

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [
    { name: NS, labels: { 'ambit.dev/dataplane-mode': 'ambient', 'ambit.dev/use-waypoint': 'waypoint' } },
  ],
  pods: [
    { name: 'client', namespace: NS, node: 1, labels: { app: 'client' }, serviceAccount: 'client' },
    {
      name: 'echo-v1-0',
      namespace: NS,
      node: 1,
      labels: { app: 'echo', version: 'v1' },
      serviceAccount: 'echo',
    },
    {
      name: 'echo-v2-0',
      namespace: NS,
      node: 2,
      labels: { app: 'echo', version: 'v2' },
      serviceAccount: 'echo',
    },
  ],
  services: [
    { name: 'echo', namespace: NS, selector: { app: 'echo' }, ports: echoPorts },
    { name: 'echo-v1', namespace: NS, selector: { app: 'echo', version: 'v1' }, ports: echoPorts },
    { name: 'echo-v2', namespace: NS, selector: { app: 'echo', version: 'v2' }, ports: echoPorts },
    { name: 'echo-v3', namespace: NS, selector: { app: 'echo', version: 'v3' }, ports: echoPorts },
  ],
  waypoints: [{ name: 'waypoint', namespace: NS, instances: [2] }],
};

// ---- the routes, as upstream's YAML (namespace and backends as above) ----
type Doc = Record<string, unknown>;
const svcParent = (name: string, port?: number): Doc => ({
  group: '',
  kind: 'Service',
  name,
  ...(port ? { port } : {}),
});
const backend = (name: string, port: number, extra: Doc = {}): Doc => ({ name, port, ...extra });
const pathPrefix = (value: string): Doc => ({ path: { type: 'PathPrefix', value } });
const httpRoute = (name: string, parentRefs: Doc[], rules: Doc[]): Doc => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: NS },
  spec: { parentRefs, rules },
});
const grpcRoute = (name: string, parentRefs: Doc[], rules: Doc[]): Doc => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GRPCRoute',
  metadata: { name, namespace: NS },
  spec: { parentRefs, rules },
});
const echoRoute = (name: string, rules: Doc[]): Doc => httpRoute(name, [svcParent('echo', 80)], rules);
const setHeader = (name: string, value: string): Doc => ({
  type: 'ResponseHeaderModifier',
  responseHeaderModifier: { set: [{ name, value }] },
});
const redirect = (prefix: string, requestRedirect: Doc): Doc => ({
  matches: [pathPrefix(prefix)],
  filters: [{ type: 'RequestRedirect', requestRedirect }],
});
const reqHeaderModifier = (m: Doc): Doc => ({ type: 'RequestHeaderModifier', requestHeaderModifier: m });
const multipleModifier = reqHeaderModifier({
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
});
const caseModifier = reqHeaderModifier({
  set: [{ name: 'X-Header-Set', value: 'header-set' }],
  add: [{ name: 'X-Header-Add', value: 'header-add' }],
  remove: ['X-Header-Remove'],
});
const headerModifierFilters: [string, Doc][] = [
  ['/set', reqHeaderModifier({ set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }] })],
  ['/add', reqHeaderModifier({ add: [{ name: 'X-Header-Add', value: 'add-appends-values' }] })],
  ['/remove', reqHeaderModifier({ remove: ['X-Header-Remove'] })],
  ['/multiple', multipleModifier],
  ['/case-insensitivity', caseModifier],
];
const rewriteModifier = reqHeaderModifier({
  set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }],
  add: [
    { name: 'X-Header-Add', value: 'header-val-1' },
    { name: 'X-Header-Add-Append', value: 'header-val-2' },
  ],
  remove: ['X-Header-Remove'],
});

// ---- what a request expects ----
interface HttpCheck {
  name?: string;
  /** Host as the client writes it: a Service name (dialled at its VIP), optionally :port, or `pod:<name>:<port>` */
  host?: string;
  path?: string;
  headers?: Record<string, string>;
  status?: number;
  /** the Service whose pods must answer: echo-v1 / echo-v2 */
  backend?: string;
  responseHeaders?: Record<string, string>;
  absentResponseHeaders?: string[];
  request?: { path?: string; headers?: Record<string, string>; absentHeaders?: string[] };
  redirect?: { scheme?: string; host?: string; port?: string; path?: string };
  /** echo-basic retry simulation: a fresh uuid per probe is appended as ?uuid= */
  retrySimulation?: Record<string, string>;
}

interface GrpcHeaderCheck {
  name: string;
  headers: Record<string, string>;
  backend: string;
  expected: Record<string, string>;
  absent?: string[];
}

interface ConformanceCase {
  name: string;
  manifests: Doc[];
  http?: HttpCheck[];
  /** Service -> share of responses, over `count` requests, ± 5 points (upstream's weight test) */
  weights?: { protocol: 'http' | 'grpc'; expected: Record<string, number> };
  grpcHeaders?: GrpcHeaderCheck[];
}

const retryPaths = [
  { path: '/retry/code-500-attempts-3', q: { responseCode: '500', succeedAfter: '2' }, status: 200 },
  { path: '/retry/code-500-attempts-3', q: { responseCode: '500', succeedAfter: '4' }, status: 500 },
  { path: '/retry/code-500-attempts-3', q: { responseCode: '503', succeedAfter: '2' }, status: 503 },
  ...['500', '502', '503', '504'].flatMap((code) => [
    { path: '/retry/code-all-attempts-2', q: { responseCode: code, succeedAfter: '1' }, status: 200 },
    {
      path: '/retry/code-all-attempts-2',
      q: { responseCode: code, succeedAfter: '3' },
      status: Number(code),
    },
  ]),
];

const CASES: ConformanceCase[] = [
  { name: 'MeshBasic', manifests: [], http: [{ host: 'echo' }] },
  {
    name: 'MeshFrontend',
    manifests: [
      httpRoute(
        'mesh-split-v1',
        [svcParent('echo-v2')],
        [{ filters: [setHeader('X-Header-Set', 'set')], backendRefs: [backend('echo-v2', 80)] }],
      ),
    ],
    http: [
      {
        name: 'Send to service',
        host: 'echo-v2',
        backend: 'echo-v2',
        responseHeaders: { 'x-header-set': 'set' },
      },
      {
        name: 'Send to pod IP',
        host: 'pod:echo-v2-0:8080',
        backend: 'echo-v2',
        absentResponseHeaders: ['x-header-set'],
      },
    ],
  },
  {
    name: 'MeshPorts',
    manifests: [
      httpRoute(
        'mesh-split-v1',
        [svcParent('echo-v1', 80)],
        [{ filters: [setHeader('X-Header-Set', 'v1')], backendRefs: [backend('echo-v1', 80)] }],
      ),
      httpRoute(
        'mesh-split-v2',
        [svcParent('echo-v2')],
        [{ filters: [setHeader('X-Header-Set', 'v2')], backendRefs: [backend('echo-v2', 80)] }],
      ),
    ],
    http: [
      {
        name: 'Explicit port set, send to that port',
        host: 'echo-v1',
        backend: 'echo-v1',
        responseHeaders: { 'x-header-set': 'v1' },
      },
      {
        name: 'Explicit port, send to an excluded port',
        host: 'echo-v1:8080',
        backend: 'echo-v1',
        absentResponseHeaders: ['x-header-set'],
      },
      { name: 'No port set', host: 'echo-v2', backend: 'echo-v2', responseHeaders: { 'x-header-set': 'v2' } },
      {
        name: 'No port set, other port',
        host: 'echo-v2:8080',
        backend: 'echo-v2',
        responseHeaders: { 'x-header-set': 'v2' },
      },
    ],
  },
  {
    name: 'MeshTrafficSplit',
    manifests: [
      httpRoute(
        'mesh-split',
        [svcParent('echo')],
        [
          { matches: [{ path: { type: 'Exact', value: '/v1' } }], backendRefs: [backend('echo-v1', 80)] },
          { matches: [{ path: { type: 'Exact', value: '/v2' } }], backendRefs: [backend('echo-v2', 80)] },
        ],
      ),
    ],
    http: [
      { path: '/v1', backend: 'echo-v1' },
      { path: '/v2', backend: 'echo-v2' },
    ],
  },
  {
    name: 'MeshHTTPRouteWeight',
    manifests: [
      echoRoute('mesh-weighted-backends', [
        { backendRefs: [backend('echo-v1', 8080, { weight: 70 }), backend('echo-v2', 8080, { weight: 30 })] },
      ]),
    ],
    weights: { protocol: 'http', expected: { 'echo-v1': 0.7, 'echo-v2': 0.3 } },
  },
  {
    name: 'MeshHTTPRouteMatching',
    manifests: [
      echoRoute('mesh-matching', [
        {
          matches: [pathPrefix('/'), { headers: [{ name: 'version', value: 'one' }] }],
          backendRefs: [backend('echo-v1', 8080)],
        },
        {
          matches: [pathPrefix('/v2'), { headers: [{ name: 'version', value: 'two' }] }],
          backendRefs: [backend('echo-v2', 8080)],
        },
      ]),
    ],
    http: [
      { path: '/', backend: 'echo-v1' },
      { path: '/example', backend: 'echo-v1' },
      { path: '/', headers: { Version: 'one' }, backend: 'echo-v1' },
      { path: '/v2', backend: 'echo-v2' },
      { path: '/v2/example', backend: 'echo-v2' },
      { path: '/', headers: { Version: 'two' }, backend: 'echo-v2' },
      { path: '/v2/', backend: 'echo-v2' },
      { path: '/v2example', backend: 'echo-v1' },
      { path: '/foo/v2/example', backend: 'echo-v1' },
    ],
  },
  {
    name: 'MeshHTTPRouteQueryParamMatching',
    manifests: [
      echoRoute('mesh-query-param-matching', [
        {
          matches: [{ queryParams: [{ name: 'animal', value: 'whale' }] }],
          backendRefs: [backend('echo-v1', 8080)],
        },
        {
          matches: [{ queryParams: [{ name: 'animal', value: 'dolphin' }] }],
          backendRefs: [backend('echo-v2', 8080)],
        },
        {
          matches: [{ ...pathPrefix('/path1'), queryParams: [{ name: 'animal', value: 'whale' }] }],
          backendRefs: [backend('echo-v1', 8080)],
        },
        {
          matches: [
            {
              headers: [{ name: 'version', value: 'one' }],
              queryParams: [{ name: 'animal', value: 'whale' }],
            },
          ],
          backendRefs: [backend('echo-v2', 8080)],
        },
        {
          matches: [
            { ...pathPrefix('/path3'), queryParams: [{ name: 'animal', value: 'shark' }] },
            {
              ...pathPrefix('/path4'),
              headers: [{ name: 'version', value: 'three' }],
              queryParams: [{ name: 'animal', value: 'kraken' }],
            },
          ],
          backendRefs: [backend('echo-v1', 8080)],
        },
        { matches: [pathPrefix('/path5')], backendRefs: [backend('echo-v1', 8080)] },
        {
          matches: [{ queryParams: [{ name: 'animal', value: 'hydra' }] }],
          backendRefs: [backend('echo-v2', 8080)],
        },
      ]),
    ],
    http: [
      { path: '/?animal=whale', backend: 'echo-v1' },
      { path: '/?animal=dolphin', backend: 'echo-v2' },
      { path: '/?animal=whale&otherparam=irrelevant', backend: 'echo-v1' },
      { path: '/?animal=dolphin&color=yellow', backend: 'echo-v2' },
      { path: '/?color=blue', status: 404 },
      { path: '/?animal=dog', status: 404 },
      { path: '/?animal=whaledolphin', status: 404 },
      { path: '/', status: 404 },
      { path: '/path1?animal=whale', backend: 'echo-v1' },
      { path: '/?animal=whale', headers: { version: 'one' }, backend: 'echo-v2' },
      { path: '/path3?animal=shark', backend: 'echo-v1' },
      { path: '/path4?animal=kraken', headers: { version: 'three' }, backend: 'echo-v1' },
      { path: '/?animal=shark', status: 404 },
      { path: '/path4?animal=kraken', status: 404 },
      { path: '/path5?animal=hydra', backend: 'echo-v1' },
    ],
  },
  {
    name: 'MeshHTTPRouteSimpleSameNamespace',
    manifests: [echoRoute('gateway-conformance-mesh-test', [{ backendRefs: [backend('echo-v1', 8080)] }])],
    http: [{ name: 'Simple HTTP request should reach infra-backend', host: 'echo', backend: 'echo-v1' }],
  },
  {
    name: 'MeshHTTPRouteRequestHeaderModifier',
    manifests: [
      echoRoute(
        'mesh-request-header-modifier',
        headerModifierFilters.map(([p, f]) => ({
          matches: [pathPrefix(p)],
          filters: [f],
          backendRefs: [backend('echo-v1', 8080)],
        })),
      ),
    ],
    http: headerModifierChecks(),
  },
  {
    name: 'MeshHTTPRouteBackendRequestHeaderModifier',
    manifests: [
      echoRoute(
        'mesh-request-header-modifier',
        headerModifierFilters.map(([p, f]) => ({
          matches: [pathPrefix(p)],
          backendRefs: [backend('echo-v1', 8080, { filters: [f] })],
        })),
      ),
    ],
    http: headerModifierChecks(),
  },
  ...[303, 307, 308].map((code): ConformanceCase => ({
    name: `MeshHTTPRoute${code}Redirect`,
    manifests: [echoRoute(`mesh-redirect-${code}`, [redirect('/redirect', { statusCode: code })])],
    http: [{ path: '/redirect', status: code, redirect: { path: '/redirect' } }],
  })),
  {
    name: 'MeshHTTPRouteRedirectHostAndStatus',
    manifests: [
      echoRoute('mesh-redirect-host-and-status', [
        redirect('/hostname-redirect', { hostname: 'example.org' }),
        redirect('/host-and-status', { statusCode: 301, hostname: 'example.org' }),
      ]),
    ],
    http: [
      { path: '/hostname-redirect', status: 302, redirect: { host: 'example.org' } },
      { path: '/host-and-status', status: 301, redirect: { host: 'example.org' } },
    ],
  },
  {
    name: 'MeshHTTPRouteRedirectPath',
    manifests: [
      echoRoute('mesh-redirect-path', [
        redirect('/original-prefix', {
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' },
        }),
        redirect('/full', { path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } }),
        redirect('/path-and-host', {
          hostname: 'example.org',
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' },
        }),
        redirect('/path-and-status', {
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' },
          statusCode: 301,
        }),
        redirect('/full-path-and-host', {
          hostname: 'example.org',
          path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' },
        }),
        redirect('/full-path-and-status', {
          path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' },
          statusCode: 301,
        }),
      ]),
    ],
    http: [
      { path: '/original-prefix/lemon', status: 302, redirect: { path: '/replacement-prefix/lemon' } },
      { path: '/full/path/original', status: 302, redirect: { path: '/full-path-replacement' } },
      { path: '/path-and-host', status: 302, redirect: { host: 'example.org', path: '/replacement-prefix' } },
      { path: '/path-and-status', status: 301, redirect: { path: '/replacement-prefix' } },
      {
        path: '/full-path-and-host',
        status: 302,
        redirect: { host: 'example.org', path: '/replacement-full' },
      },
      { path: '/full-path-and-status', status: 301, redirect: { path: '/replacement-full' } },
    ],
  },
  {
    name: 'MeshHTTPRouteRedirectPort',
    manifests: [
      echoRoute('mesh-redirect-port', [
        redirect('/port', { port: 8083 }),
        redirect('/port-and-host', { hostname: 'example.org', port: 8083 }),
        redirect('/port-and-status', { port: 8083, statusCode: 301 }),
        redirect('/port-and-host-and-status', { port: 8083, hostname: 'example.org', statusCode: 302 }),
      ]),
    ],
    http: [
      { path: '/port', status: 302, redirect: { port: '8083' } },
      { path: '/port-and-host', status: 302, redirect: { host: 'example.org', port: '8083' } },
      { path: '/port-and-status', status: 301, redirect: { port: '8083' } },
      { path: '/port-and-host-and-status', status: 302, redirect: { port: '8083', host: 'example.org' } },
    ],
  },
  {
    name: 'MeshHTTPRouteSchemeRedirect',
    manifests: [
      echoRoute('mesh-redirect-scheme', [
        redirect('/scheme', { scheme: 'https' }),
        redirect('/scheme-and-host', { hostname: 'example.org', scheme: 'https' }),
        redirect('/scheme-and-status', { scheme: 'https', statusCode: 301 }),
        redirect('/scheme-and-host-and-status', {
          scheme: 'https',
          statusCode: 302,
          hostname: 'example.org',
        }),
      ]),
    ],
    http: [
      { path: '/scheme', status: 302, redirect: { scheme: 'https' } },
      { path: '/scheme-and-host', status: 302, redirect: { host: 'example.org', scheme: 'https' } },
      { path: '/scheme-and-status', status: 301, redirect: { scheme: 'https' } },
      {
        path: '/scheme-and-host-and-status',
        status: 302,
        redirect: { scheme: 'https', host: 'example.org' },
      },
    ],
  },
  {
    name: 'MeshHTTPRouteRewritePath',
    manifests: [
      echoRoute('mesh-rewrite-path', [
        {
          matches: [pathPrefix('/prefix/one')],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' } },
            },
          ],
          backendRefs: [backend('echo-v1', 80)],
        },
        {
          matches: [pathPrefix('/strip-prefix')],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
            },
          ],
          backendRefs: [backend('echo-v1', 80)],
        },
        {
          matches: [pathPrefix('/full/one')],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/one' } },
            },
          ],
          backendRefs: [backend('echo-v1', 80)],
        },
        {
          matches: [pathPrefix('/full/rewrite-path-and-modify-headers')],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/test' } },
            },
            rewriteModifier,
          ],
          backendRefs: [backend('echo-v1', 80)],
        },
        {
          matches: [pathPrefix('/prefix/rewrite-path-and-modify-headers')],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/prefix' } },
            },
            rewriteModifier,
          ],
          backendRefs: [backend('echo-v1', 80)],
        },
      ]),
    ],
    http: [
      { path: '/prefix/one/two', request: { path: '/one/two' }, backend: 'echo-v1' },
      { path: '/strip-prefix/three', request: { path: '/three' }, backend: 'echo-v1' },
      { path: '/strip-prefix', request: { path: '/' }, backend: 'echo-v1' },
      { path: '/full/one/two', request: { path: '/one' }, backend: 'echo-v1' },
      ...(
        [
          ['/full/rewrite-path-and-modify-headers/test', '/test'],
          ['/prefix/rewrite-path-and-modify-headers/one', '/prefix/one'],
        ] as const
      ).map(([from, to]): HttpCheck => ({
        path: from,
        headers: {
          'X-Header-Remove': 'remove-val',
          'X-Header-Add-Append': 'append-val-1',
          'X-Header-Set': 'set-val',
        },
        request: {
          path: to,
          headers: {
            'X-Header-Add': 'header-val-1',
            'X-Header-Add-Append': 'append-val-1,header-val-2',
            'X-Header-Set': 'set-overwrites-values',
          },
          absentHeaders: ['X-Header-Remove'],
        },
        backend: 'echo-v1',
      })),
    ],
  },
  {
    name: 'MeshHTTPRouteNamedRule',
    manifests: [
      echoRoute('mesh-http-named-rules', [
        { name: 'named-rule', matches: [pathPrefix('/named')], backendRefs: [backend('echo-v1', 8080)] },
        { matches: [pathPrefix('/unnamed')], backendRefs: [backend('echo-v2', 8080)] },
      ]),
    ],
    http: [
      { path: '/named', request: { path: '/named' }, backend: 'echo-v1' },
      { path: '/unnamed', request: { path: '/unnamed' }, backend: 'echo-v2' },
    ],
  },
  {
    name: 'MeshGRPCRouteWeight',
    manifests: [
      grpcRoute(
        'mesh-grpc-weighted-backends',
        [svcParent('echo', GRPC_PORT)],
        [
          {
            backendRefs: [
              backend('echo-v1', GRPC_PORT, { weight: 70 }),
              backend('echo-v2', GRPC_PORT, { weight: 30 }),
              backend('echo-v3', GRPC_PORT, { weight: 0 }),
            ],
          },
        ],
      ),
    ],
    weights: { protocol: 'grpc', expected: { 'echo-v1': 0.7, 'echo-v2': 0.3 } },
  },
  {
    name: 'MeshGRPCRouteRequestHeaderModifier',
    manifests: [
      grpcRoute(
        'mesh-grpc-header-modifier',
        [svcParent('echo', GRPC_PORT)],
        [
          {
            matches: [{ headers: [{ name: 'x-test-case', value: 'set' }] }],
            filters: [reqHeaderModifier({ set: [{ name: 'x-header-set', value: 'set-overwrites-values' }] })],
            backendRefs: [backend('echo-v1', GRPC_PORT)],
          },
          {
            matches: [{ headers: [{ name: 'x-test-case', value: 'add' }] }],
            filters: [reqHeaderModifier({ add: [{ name: 'x-header-add', value: 'add-appends-values' }] })],
            backendRefs: [backend('echo-v1', GRPC_PORT)],
          },
          {
            matches: [{ headers: [{ name: 'x-test-case', value: 'remove' }] }],
            filters: [reqHeaderModifier({ remove: ['x-header-remove'] })],
            backendRefs: [backend('echo-v1', GRPC_PORT)],
          },
          {
            matches: [{ headers: [{ name: 'x-test-case', value: 'multi' }] }],
            filters: [
              reqHeaderModifier({
                set: [
                  { name: 'x-header-set-1', value: 'header-set-1' },
                  { name: 'x-header-set-2', value: 'header-set-2' },
                ],
                add: [
                  { name: 'x-header-add-1', value: 'header-add-1' },
                  { name: 'x-header-add-2', value: 'header-add-2' },
                ],
                remove: ['x-header-remove-1', 'x-header-remove-2'],
              }),
            ],
            backendRefs: [backend('echo-v2', GRPC_PORT)],
          },
        ],
      ),
    ],
    grpcHeaders: [
      {
        name: 'Set headers -- overwrites existing header',
        headers: {
          'x-test-case': 'set',
          'some-other-header': 'this-header-should-be-set',
          'x-header-set': 'this-value-should-be-overwritten',
        },
        backend: 'echo-v1',
        expected: {
          'x-test-case': 'set',
          'some-other-header': 'this-header-should-be-set',
          'x-header-set': 'set-overwrites-values',
        },
      },
      {
        name: 'Add headers -- appends to existing header',
        headers: { 'x-test-case': 'add', 'x-header-add': 'this-value-should-be-appended' },
        backend: 'echo-v1',
        expected: {
          'x-test-case': 'add',
          'x-header-add': 'this-value-should-be-appended,add-appends-values',
        },
      },
      {
        name: 'Remove headers -- removes headers',
        headers: { 'x-test-case': 'remove', 'x-header-remove': 'this-should-be-removed' },
        backend: 'echo-v1',
        expected: { 'x-test-case': 'remove' },
        absent: ['x-header-remove'],
      },
      {
        name: 'Multiple operations -- set, add, and remove headers',
        headers: {
          'x-test-case': 'multi',
          'x-header-set-2': 'set-header-2',
          'x-header-add-2': 'add-header-2',
          'x-header-remove-2': 'should-be-removed-2',
        },
        backend: 'echo-v2',
        expected: {
          'x-test-case': 'multi',
          'x-header-set-1': 'header-set-1',
          'x-header-set-2': 'header-set-2',
          'x-header-add-1': 'header-add-1',
          'x-header-add-2': 'add-header-2,header-add-2',
        },
        absent: ['x-header-remove-1', 'x-header-remove-2'],
      },
    ],
  },
  {
    name: 'HTTPRouteRetry',
    manifests: [
      echoRoute('retries', [
        {
          matches: [pathPrefix('/retry/code-500-attempts-3')],
          retry: { codes: [500], attempts: 3 },
          backendRefs: [backend('echo-v1', 8080)],
        },
        {
          matches: [pathPrefix('/retry/code-all-attempts-2')],
          retry: { codes: [500, 502, 503, 504], attempts: 2 },
          backendRefs: [backend('echo-v1', 8080)],
        },
      ]),
    ],
    http: retryPaths.map((r): HttpCheck => ({
      name: `${r.path} ${JSON.stringify(r.q)} -> ${r.status}`,
      path: r.path,
      retrySimulation: r.q,
      status: r.status,
    })),
  },
  {
    name: 'HTTPRouteRetryWithTimeouts',
    manifests: [
      echoRoute('retries-with-timeouts', [
        {
          matches: [pathPrefix('/retry/backend-request-timeout-200ms')],
          retry: { attempts: 2 },
          timeouts: { backendRequest: '200ms' },
          backendRefs: [backend('echo-v1', 8080)],
        },
        {
          matches: [pathPrefix('/retry/request-timeout-200ms')],
          retry: { codes: [500], attempts: 5 },
          timeouts: { backendRequest: '200ms', request: '400ms' },
          backendRefs: [backend('echo-v1', 8080)],
        },
      ]),
    ],
    http: [
      {
        path: '/retry/backend-request-timeout-200ms',
        retrySimulation: { responseCode: '500', succeedAfter: '2', delayRetry: '300ms' },
        status: 200,
      },
      {
        path: '/retry/backend-request-timeout-200ms',
        retrySimulation: { responseCode: '500', succeedAfter: '3', delayRetry: '300ms' },
        status: 504,
      },
      {
        path: '/retry/request-timeout-200ms',
        retrySimulation: { responseCode: '500', succeedAfter: '1' },
        status: 200,
      },
      {
        path: '/retry/request-timeout-200ms',
        retrySimulation: { responseCode: '500', succeedAfter: '4', delayRetry: '100ms' },
        status: 504,
      },
    ],
  },
  {
    name: 'HTTPRouteTimeoutRequest',
    manifests: [
      echoRoute('request-timeout', [
        {
          matches: [pathPrefix('/request-timeout')],
          backendRefs: [backend('echo-v1', 8080)],
          timeouts: { request: '500ms' },
        },
        {
          matches: [pathPrefix('/disable-request-timeout')],
          backendRefs: [backend('echo-v1', 8080)],
          timeouts: { request: '0s' },
        },
      ]),
    ],
    http: [
      { path: '/request-timeout', status: 200 },
      { path: '/request-timeout?delay=1s', status: 504 },
      { path: '/disable-request-timeout?delay=1s', status: 200 },
    ],
  },
  {
    name: 'HTTPRouteTimeoutBackendRequest',
    manifests: [
      echoRoute('backend-request-timeout', [
        {
          matches: [pathPrefix('/backend-timeout')],
          backendRefs: [backend('echo-v1', 8080)],
          timeouts: { backendRequest: '500ms' },
        },
        {
          matches: [pathPrefix('/disable-backend-timeout')],
          backendRefs: [backend('echo-v1', 8080)],
          timeouts: { backendRequest: '0s' },
        },
      ]),
    ],
    http: [
      { path: '/backend-timeout', status: 200 },
      { path: '/backend-timeout?delay=1s', status: 504 },
      { path: '/disable-backend-timeout?delay=1s', status: 200 },
    ],
  },
];

function headerModifierChecks(): HttpCheck[] {
  return [
    {
      path: '/set',
      headers: { 'Some-Other-Header': 'val' },
      request: {
        path: '/set',
        headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' },
      },
    },
    {
      path: '/set',
      headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' },
      request: {
        path: '/set',
        headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' },
      },
    },
    {
      path: '/add',
      headers: { 'Some-Other-Header': 'val' },
      request: {
        path: '/add',
        headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'add-appends-values' },
      },
    },
    {
      path: '/add',
      headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value' },
      request: {
        path: '/add',
        headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value,add-appends-values' },
      },
    },
    {
      path: '/remove',
      headers: { 'X-Header-Remove': 'val' },
      request: { path: '/remove', absentHeaders: ['X-Header-Remove'] },
    },
    {
      path: '/multiple',
      headers: {
        'X-Header-Set-2': 'set-val-2',
        'X-Header-Add-2': 'add-val-2',
        'X-Header-Remove-2': 'remove-val-2',
        'Another-Header': 'another-header-val',
      },
      request: {
        path: '/multiple',
        headers: {
          'X-Header-Set-1': 'header-set-1',
          'X-Header-Set-2': 'header-set-2',
          'X-Header-Add-1': 'header-add-1',
          'X-Header-Add-2': 'add-val-2,header-add-2',
          'X-Header-Add-3': 'header-add-3',
          'Another-Header': 'another-header-val',
        },
        absentHeaders: ['X-Header-Remove-1', 'X-Header-Remove-2'],
      },
    },
    {
      path: '/case-insensitivity',
      headers: {
        'x-header-set': 'original-val-set',
        'x-header-add': 'original-val-add',
        'x-header-remove': 'original-val-remove',
        'Another-Header': 'another-header-val',
      },
      request: {
        path: '/case-insensitivity',
        headers: {
          'X-Header-Set': 'header-set',
          'X-Header-Add': 'original-val-add,header-add',
          'Another-Header': 'another-header-val',
        },
        absentHeaders: ['x-header-remove', 'X-Header-Remove'],
      },
    },
  ].map((c) => ({ ...c, backend: 'echo-v1' }));
}

// ---- checking one response against an expectation (pure) ----
interface EchoBody {
  pod?: string;
  path?: string;
  headers?: Record<string, string[]>;
}

/** What differs between the response and the expectation; empty when it holds. */
export function mismatches(c: HttpCheck, r: CurlResult): string[] {
  const out: string[] = [];
  const want = c.status ?? 200;
  if (r.status !== want) out.push(`status ${r.status || r.error || 'none'}, want ${want}`);
  let echo: EchoBody = {};
  try {
    echo = JSON.parse(r.body) as EchoBody;
  } catch {
    // not an echo answer (redirects, 404s)
  }
  if (c.backend && !(echo.pod ?? '').startsWith(`${c.backend}-`))
    out.push(`answered by ${echo.pod ?? 'nobody'}, want ${c.backend}`);
  for (const [k, v] of Object.entries(c.responseHeaders ?? {})) {
    if (r.headers[k.toLowerCase()] !== v)
      out.push(`response header ${k}=${r.headers[k.toLowerCase()]}, want ${v}`);
  }
  for (const k of c.absentResponseHeaders ?? [])
    if (r.headers[k.toLowerCase()] !== undefined) out.push(`response header ${k} present`);
  if (c.request) {
    const seen = new Map(Object.entries(echo.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.join(',')]));
    const seenPath = (echo.path ?? '').split('?')[0];
    if (c.request.path !== undefined && seenPath !== c.request.path)
      out.push(`backend saw path ${seenPath}, want ${c.request.path}`);
    for (const [k, v] of Object.entries(c.request.headers ?? {})) {
      if (seen.get(k.toLowerCase()) !== v)
        out.push(`backend saw ${k}=${seen.get(k.toLowerCase())}, want ${v}`);
    }
    for (const k of c.request.absentHeaders ?? [])
      if (seen.has(k.toLowerCase())) out.push(`backend saw ${k}`);
  }
  if (c.redirect) {
    const loc = r.headers.location;
    if (!loc) out.push('no Location');
    else {
      const u = new URL(loc, 'http://echo');
      const w = c.redirect;
      if (w.scheme && u.protocol !== `${w.scheme}:`)
        out.push(`redirect scheme ${u.protocol}, want ${w.scheme}`);
      if (w.host && u.hostname !== w.host) out.push(`redirect host ${u.hostname}, want ${w.host}`);
      if (w.port && u.port !== w.port) out.push(`redirect port ${u.port}, want ${w.port}`);
      if (w.path && u.pathname !== w.path) out.push(`redirect path ${u.pathname}, want ${w.path}`);
    }
  }
  return out;
}

describe.skipIf(!enabled)('waypoint: Gateway API mesh conformance, ported', () => {
  let cluster: LocalCluster;
  let prefix = '';
  let waypoint: ManagedProcess | undefined;
  const vipOf = (svc: string): string => {
    const s = cluster.topology.services.find((x) => x.spec.name === svc);
    if (!s) throw new Error(`no Service ${svc}`);
    return s.vip;
  };

  /** The curl arguments for a check: Host as written, dialled at the Service VIP or a pod IP. */
  const curlArgs = (c: HttpCheck): string[] => {
    const host = c.host ?? 'echo';
    let url: string;
    const extra: string[] = [];
    const pod = /^pod:([^:]+):(\d+)$/.exec(host);
    let path = c.path ?? '/';
    if (c.retrySimulation) {
      const q = new URLSearchParams({
        ...c.retrySimulation,
        uuid: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
      });
      path = `${path}?${q.toString()}`;
    }
    if (pod) url = `http://${cluster.pod(pod[1] ?? '').ip}:${pod[2]}${path}`;
    else {
      const [name = 'echo', port = '80'] = host.split(':');
      extra.push('--resolve', `${name}:${port}:${vipOf(name)}`);
      url = `http://${host}${path}`;
    }
    for (const [k, v] of Object.entries(c.headers ?? {})) extra.push('-H', `${k}: ${v}`);
    return [...extra, url];
  };

  /** Retries until the check holds twice in a row (upstream: eventually consistent). */
  const expectEventually = async (c: HttpCheck, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let streak = 0;
    let last: string[] = [];
    while (Date.now() < deadline) {
      const r = await cluster.curlInPod('client', curlArgs(c), 5000);
      last = mismatches(c, r);
      streak = last.length === 0 ? streak + 1 : 0;
      if (streak >= 2) return;
      if (last.length > 0) await new Promise((res) => setTimeout(res, 250));
    }
    throw new Error(`${c.name ?? `${c.host ?? 'echo'}${c.path ?? '/'}`}: ${last.join('; ')}`);
  };

  const grpcSpec = (extra: Partial<L7ClientSpec>): L7ClientSpec => ({
    mode: 'grpc-unary',
    target: `${vipOf('echo')}:${GRPC_PORT}`,
    authority: `echo:${GRPC_PORT}`,
    count: 1,
    timeoutMs: 5000,
    ...extra,
  });

  const share = (r: L7ClientResult, svc: string): number =>
    Object.entries(r.byPod)
      .filter(([pod]) => pod.startsWith(`${svc}-`))
      .reduce((a, [, n]) => a + n, 0) / Math.max(1, r.sent);

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    cluster.setExtraManifests([]);
    await cluster.startController();
    for (const n of cluster.topology.nodes) await cluster.startAgent(n.index);
    for (const n of cluster.topology.nodes) await cluster.startZtunnel(n.index);
    waypoint = await cluster.startWaypoint(NS, 'waypoint');
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    cluster.setExtraManifests(c.manifests);
    const linesBefore = waypoint?.lines.length ?? 0;
    try {
      for (const check of c.http ?? []) await expectEventually(check);
      if (c.weights) {
        const { protocol, expected } = c.weights;
        // wait for the route (both versions answering), then measure; upstream retries the batch 3 times
        let r: L7ClientResult | undefined;
        let off: string[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          r = await cluster.l7InPod(
            'client',
            protocol === 'grpc'
              ? grpcSpec({ count: 500, concurrency: 10 })
              : {
                  mode: 'http',
                  target: `http://${vipOf('echo')}/`,
                  authority: 'echo',
                  count: 500,
                  concurrency: 10,
                  timeoutMs: 5000,
                },
          );
          off = Object.entries(expected)
            .filter(
              ([svc, w]) => Math.abs(share(r ?? ({ sent: 0, byPod: {} } as L7ClientResult), svc) - w) > 0.05,
            )
            .map(
              ([svc, w]) =>
                `${svc} ${share(r ?? ({ sent: 0, byPod: {} } as L7ClientResult), svc).toFixed(3)} want ${w}±0.05`,
            );
          if (off.length === 0) break;
          await new Promise((res) => setTimeout(res, 1000));
        }
        expect(
          off,
          `distribution ${JSON.stringify(r?.byPod)} statuses ${JSON.stringify(r?.byStatus)}`,
        ).toEqual([]);
      }
      for (const g of c.grpcHeaders ?? []) {
        const deadline = Date.now() + 20_000;
        let last = '';
        for (;;) {
          const r = await cluster.l7InPod(
            'client',
            grpcSpec({ headers: g.headers, samples: true, echoHeaders: true }),
          );
          const s = r.samples?.[0];
          const seen = s?.headers ?? {};
          const problems = [
            ...(s?.status === 'OK' ? [] : [`status ${s?.status}`]),
            ...(s?.pod.startsWith(`${g.backend}-`) ? [] : [`answered by ${s?.pod}, want ${g.backend}`]),
            ...Object.entries(g.expected)
              .filter(([k, v]) => seen[k] !== v)
              .map(([k, v]) => `${k}=${seen[k]} want ${v}`),
            ...(g.absent ?? []).filter((k) => seen[k] !== undefined).map((k) => `${k} present`),
          ];
          if (problems.length === 0) break;
          last = problems.join('; ');
          if (Date.now() > deadline) throw new Error(`${g.name}: ${last}`);
          await new Promise((res) => setTimeout(res, 250));
        }
      }
    } catch (err) {
      const log = (waypoint?.lines ?? []).slice(linesBefore).slice(-15).join('\n');
      throw new Error(
        `${(err as Error).message}\nwaypoint log (last lines of this case):\n${log}\n${waypoint?.errLines.slice(-5).join('\n') ?? ''}`,
        { cause: err },
      );
    }
  });
});
