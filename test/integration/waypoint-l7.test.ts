// The waypoint's L7 path in one process on loopback (test/support/waypoint-mesh.ts): a plain
// node:http client -> SOCKS5 -> ztunnel n1 -> HBONE -> waypoint -> HBONE -> ztunnel n2 -> backend.
// Routing, filters, retries, timeouts, faults, mirroring, L7 authorization, metrics and draining,
// each against real sockets and TLS. The kernel path (curl in a pod netns) is the e2e suite's.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type http from 'node:http';
import type { MeshBackendRef, MeshHttpRouteRule, MeshRoute } from '../../core/model/mesh.js';
import { policy } from '../../ztunnel/state/mesh-fixture.js';
import { startWaypointMesh, type WaypointMesh } from '../support/waypoint-mesh.js';
import { until } from '../support/until.js';

let m: WaypointMesh;
const logs: string[] = [];
beforeAll(async () => {
  m = await startWaypointMesh({
    prefix: '127.0.30',
    logSink: (line) => {
      if (logs.length < 50_000) logs.push(line);
    },
    backends: { 'echo-v1': 'echo', 'echo-v2': 'echo-canary', mirror: 'mirror', 'echo-v3': 'echo' },
  });
});
afterAll(async () => m?.stop());
beforeEach(async () => {
  for (const b of m.backends.values()) {
    b.seen.length = 0;
    b.behave = () => false;
  }
  await m.push();
});

const backend = (name: string, weight = 1, port = 80): MeshBackendRef => ({
  namespace: 'default',
  name,
  port,
  weight,
  filters: [],
});

function route(name: string, rules: Partial<MeshHttpRouteRule>[], service = 'echo'): MeshRoute {
  return {
    kind: 'HTTPRoute',
    namespace: 'default',
    name,
    parents: [{ kind: 'Service', namespace: 'default', name: service }],
    hostnames: [],
    rules: rules.map((r) => ({
      filters: [],
      backendRefs: [backend(service)],
      matches: [{ path: { type: 'PathPrefix', value: '/' } }],
      ...r,
    })),
  };
}

const pod = (r: { body: string }): string => (JSON.parse(r.body) as { pod: string }).pod;

describe('waypoint L7 routing (HTTPRoute on a Service)', () => {
  it('with no route, balances requests over the Service endpoints', async () => {
    const pods = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await m.request('echo', { path: `/x${i}` });
      expect(r.status).toBe(200);
      pods.add(pod(r));
    }
    expect([...pods].sort()).toStrictEqual(['echo-v1', 'echo-v3']);
  });

  it('routes by header to the canary regardless of weight, and splits by weight otherwise', async () => {
    await m.push({
      routes: [
        route('split', [
          {
            matches: [{ headers: [{ name: 'x-canary', value: 'yes' }] }],
            backendRefs: [backend('echo-canary')],
          },
          { backendRefs: [backend('echo', 90), backend('echo-canary', 10)] },
        ]),
      ],
    });
    for (let i = 0; i < 10; i++)
      expect(pod(await m.request('echo', { headers: { 'x-canary': 'yes' } }))).toBe('echo-v2');
    let canary = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if (pod(await m.request('echo')) === 'echo-v2') canary++;
    // 10% of 400 = 40; binomial sd ~6: 5 sd either side
    expect(canary).toBeGreaterThan(10);
    expect(canary).toBeLessThan(70);
  });

  it('answers 404 when routes are attached and none matches', async () => {
    await m.push({
      routes: [route('only-api', [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }])],
    });
    expect((await m.request('echo', { path: '/api/x' })).status).toBe(200);
    expect((await m.request('echo', { path: '/other' })).status).toBe(404);
  });

  it('applies request and response header modifiers', async () => {
    await m.push({
      routes: [
        route('headers', [
          {
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: {
                  set: [{ name: 'x-set', value: 'one' }],
                  add: [{ name: 'x-add', value: 'two' }],
                  remove: ['x-remove'],
                },
              },
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: { set: [{ name: 'x-resp', value: 'three' }] },
              },
            ],
          },
        ]),
      ],
    });
    const r = await m.request('echo', { headers: { 'x-set': 'zero', 'x-add': 'a', 'x-remove': 'gone' } });
    const seen = (JSON.parse(r.body) as { headers: http.IncomingHttpHeaders }).headers;
    expect(seen['x-set']).toBe('one');
    expect(seen['x-add']).toBe('a,two');
    expect(seen['x-remove']).toBeUndefined();
    expect(r.headers['x-resp']).toBe('three');
  });

  it('redirects and rewrites', async () => {
    await m.push({
      routes: [
        route('redirect', [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' },
                  statusCode: 301,
                },
              },
            ],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/prefix/one' } }],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' } },
              },
            ],
          },
        ]),
      ],
    });
    const r = await m.request('echo', { path: '/old/page' });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('http://echo.default.svc.cluster.local/new/page');
    const w = await m.request('echo', { path: '/prefix/one/two?q=1' });
    expect((JSON.parse(w.body) as { path: string }).path).toBe('/one/two?q=1');
  });
});

describe('waypoint resilience', () => {
  it('retries 503s (route retry) so nearly every request succeeds, and does not retry a POST', async () => {
    let n = 0;
    m.backends.get('echo-v1')!.behave = (_req, res) => {
      if (n++ % 2 === 0) {
        res.writeHead(503);
        res.end('flaky');
        return true;
      }
      return false;
    };
    m.backends.get('echo-v3')!.behave = m.backends.get('echo-v1')!.behave;
    await m.push({
      routes: [route('retry', [{ retry: { attempts: 3, codes: [503], backoffMs: 1 } }])],
    });
    let ok = 0;
    for (let i = 0; i < 100; i++) if ((await m.request('echo')).status === 200) ok++;
    expect(ok).toBeGreaterThanOrEqual(99);
    const retries = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString(
      'ambit_waypoint_retries_total',
    );
    expect(retries).toMatch(/ambit_waypoint_retries_total\{service="echo.default.svc.cluster.local"\} \d+/);
    // a POST is not idempotent: with a status-code retry it is still retried (Gateway API retries
    // by code), but a reset after sending is not; check the policy's non-idempotent rule instead
    const before = m.backends.get('echo-v1')!.seen.length + m.backends.get('echo-v3')!.seen.length;
    n = 0; // the next request fails
    await m.push({
      trafficPolicies: [
        {
          namespace: 'default',
          name: 'tp',
          services: ['default/echo'],
          retry: {
            attempts: 3,
            retryOn: ['reset', 'connect-failure'],
            retriableStatusCodes: [],
            baseIntervalMs: 1,
            maxIntervalMs: 10,
            retryNonIdempotent: false,
          },
        },
      ],
    });
    m.backends.get('echo-v1')!.behave = (_req, res) => {
      res.destroy();
      return true;
    };
    m.backends.get('echo-v3')!.behave = m.backends.get('echo-v1')!.behave;
    const post = await m.request('echo', { method: 'POST', body: 'once', agent: m.agent('echo') });
    expect(post.status).toBe(503);
    const after = m.backends.get('echo-v1')!.seen.length + m.backends.get('echo-v3')!.seen.length;
    expect(after - before).toBe(1);
  });

  it('gives 504 at the request timeout and retries a per-try timeout on another endpoint', async () => {
    m.backends.get('echo-v1')!.behave = () => true; // hangs
    m.backends.get('echo-v3')!.behave = () => true;
    await m.push({ routes: [route('slow', [{ timeouts: { requestMs: 300 } }])] });
    const t0 = performance.now();
    const r = await m.request('echo');
    const took = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(took).toBeGreaterThan(240);
    expect(took).toBeLessThan(1500);
    // v3 answers, v1 hangs: a 200 ms per-try timeout moves the request on
    m.backends.get('echo-v3')!.behave = () => false;
    await m.push({
      routes: [
        route('per-try', [{ timeouts: { requestMs: 3000, backendRequestMs: 200 }, retry: { attempts: 2 } }]),
      ],
    });
    for (let i = 0; i < 6; i++) {
      const ok = await m.request('echo');
      expect(ok.status).toBe(200);
      expect(pod(ok)).toBe('echo-v3');
    }
  });

  it('retries by default an idempotent request a reused keep-alive connection ended before any answer', async () => {
    // each backend connection answers its first request and closes (FIN, no answer) on the second:
    // the keep-alive race as the waypoint sees it. No route or policy retry is configured; the
    // default policy retries it on a fresh connection. (A POST is retried only when the end had
    // arrived before the request took the connection: here the app read it, so it is not.)
    const served = new WeakMap<object, number>();
    const closeSecond = (req: http.IncomingMessage): boolean => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n < 2) return false;
      req.socket.end();
      return true;
    };
    m.backends.get('echo-v1')!.behave = closeSecond;
    // one endpoint, so the retry cannot meet another pooled connection in the same state
    await m.push({
      state: {
        services: m
          .services()
          .map((svc) => (svc.name === 'echo' ? { ...svc, endpoints: svc.endpoints.slice(0, 1) } : svc)),
      },
    });
    const retries = async (): Promise<number> => {
      const t = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString(
        'ambit_waypoint_retries_total',
      );
      return Number(/retries_total\{service="echo\.[^}]*\} (\d+)/.exec(t)?.[1] ?? 0);
    };
    const before = await retries();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await m.request('echo', { path: `/race${i}` })).status);
    expect(statuses).toStrictEqual(Array<number>(8).fill(200));
    expect(await retries()).toBeGreaterThan(before);
  });

  it('does not reuse a pooled upstream connection the app closed while idle', async () => {
    // the backends close idle keep-alive connections after 300 ms (no Connection: close): a
    // request after a longer pause must open a new upstream connection, not hang on the old one
    const servers = ['echo-v1', 'echo-v3'].map((n) => m.backends.get(n)!.server);
    for (const srv of servers) srv.keepAliveTimeout = 300;
    try {
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        expect((await m.request('echo', { path: `/idle${i}` })).status).toBe(200);
        expect(performance.now() - t0).toBeLessThan(2000);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      for (const srv of servers) srv.keepAliveTimeout = 5000;
    }
  });

  it('stops the upstream attempt when the client goes away', async () => {
    let upstreamClosed = false;
    const hang = (req: http.IncomingMessage): boolean => {
      req.socket.once('close', () => (upstreamClosed = true));
      return true;
    };
    m.backends.get('echo-v1')!.behave = hang;
    m.backends.get('echo-v3')!.behave = hang;
    const socket = await m.connect(m.vip('echo'), 80);
    socket.write('GET /gone HTTP/1.1\r\nhost: echo\r\n\r\n');
    await until('the request to reach a backend', () =>
      m.backends.get('echo-v1')!.seen.length + m.backends.get('echo-v3')!.seen.length > 0 ? true : undefined,
    );
    socket.destroy();
    await until('the waypoint to close the upstream request', () => (upstreamClosed ? true : undefined));
    const text = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString('istio_requests_total');
    expect(text).toMatch(/response_code="0"/);
    expect(text).toContain('response_flags="DC"');
  });

  it('injects aborts from a TrafficPolicy fault', async () => {
    await m.push({
      trafficPolicies: [
        {
          namespace: 'default',
          name: 'fault',
          services: ['default/echo'],
          fault: { abort: { percent: 100, httpStatus: 418 } },
        },
      ],
    });
    const r = await m.request('echo');
    expect(r.status).toBe(418);
    expect(m.backends.get('echo-v1')!.seen.length + m.backends.get('echo-v3')!.seen.length).toBe(0);
  });

  it('mirrors requests fire-and-forget, even to a mirror that hangs', async () => {
    m.backends.get('mirror')!.behave = () => true; // never answers
    await m.push({
      routes: [
        route('mirror', [
          {
            filters: [
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: { name: 'mirror', port: 80 } },
              },
            ],
          },
        ]),
      ],
    });
    for (let i = 0; i < 5; i++) expect((await m.request('echo', { path: `/m${i}` })).status).toBe(200);
    await until('the mirror to see every request', () =>
      m.backends.get('mirror')!.seen.length >= 5 ? true : undefined,
    );
    expect(
      m.backends
        .get('mirror')!
        .seen.map((s) => s.url)
        .sort(),
    ).toStrictEqual(['/m0', '/m1', '/m2', '/m3', '/m4']);
  });
});

describe('reaching the waypoint', () => {
  it('fails closed: with no ready waypoint instance the source ztunnel refuses and names the waypoint', async () => {
    const state = m.base();
    await m.push({
      state: {
        waypoints: state.waypoints.map((w) => ({
          ...w,
          instances: w.instances.map((i) => ({ ...i, ready: false })),
        })),
      },
    });
    logs.length = 0;
    await expect(m.connect(m.vip('echo'), 80)).rejects.toThrow(/SOCKS5 reply/);
    const line = await until('the refusal in the source ztunnel log', () =>
      logs.find((l) => l.includes('waypoint default/wp has no ready instance')),
    );
    expect(line).toContain('"node":"n1"');
    const text = await m.z1.metrics.registry.getSingleMetricAsString('istio_tcp_connections_opened_total');
    expect(text).toContain('response_flags="NO_HEALTHY_UPSTREAM"');
    expect(m.backends.get('echo-v1')!.seen.length + m.backends.get('echo-v3')!.seen.length).toBe(0);
  });
});

describe('a waypoint for workloads', () => {
  it('serves traffic addressed to a pod IP when the pod uses it', async () => {
    const state = m.base();
    const v1 = m.backends.get('echo-v1')!;
    await m.push({
      state: {
        waypoints: state.waypoints.map((w) => ({ ...w, for: 'all' as const })),
        workloads: state.workloads.map((w) =>
          w.uid === v1.workload.uid ? { ...w, waypoint: { namespace: 'default', name: 'wp' } } : w,
        ),
      },
    });
    const socket = await m.connect(v1.workload.ips[0]!, v1.port);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n') && text.includes('"pod"')) resolve(text);
      });
      socket.on('error', reject);
      socket.resume();
      socket.write('GET /by-pod-ip HTTP/1.1\r\nhost: echo-v1\r\n\r\n');
    });
    socket.destroy();
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
    expect(answer).toContain('"pod":"echo-v1"');
    expect(v1.seen.at(-1)?.url).toBe('/by-pod-ip');
    const text = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString('istio_requests_total');
    expect(text).toMatch(
      /destination_workload="echo-v1"[^\n]*response_code="200"|response_code="200"[^\n]*destination_workload="echo-v1"/,
    );
  });
});

describe('waypoint L7 authorization and telemetry', () => {
  it('denies by path with 403 and a body that reveals nothing, allows the rest', async () => {
    await m.push({
      state: {
        authorizationPolicies: [
          policy({
            name: 'deny-admin',
            action: 'DENY',
            enforcedBy: 'waypoint',
            scope: { kind: 'targetRefs', targetRefs: [{ group: '', kind: 'Service', name: 'echo' }] },
            rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }],
          }),
        ],
      },
    });
    const denied = await m.request('echo', { path: '/admin/x' });
    expect(denied.status).toBe(403);
    expect(denied.body).toBe('RBAC: access denied\n');
    expect((await m.request('echo', { path: '/public' })).status).toBe(200);
  });

  it('reports istio_requests_total with reporter="waypoint"', async () => {
    await m.request('echo', { path: '/metrics-check' });
    const text = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString('istio_requests_total');
    expect(text).toContain('reporter="waypoint"');
    expect(text).toContain('destination_service="echo.default.svc.cluster.local"');
    expect(text).toContain('source_principal="spiffe://cluster.local/ns/default/sa/client"');
    expect(text).toContain('response_code="200"');
  });
});
