// The waypoint's resilience acceptance (issue 9) end to end on the local cluster: every request
// goes client pod -> kernel redirect -> source ztunnel -> waypoint -> destination ztunnel -> echo
// pod, sent by the in-pod L7 client (local-cluster/l7-client.ts) so thousands of requests need one
// process. Backends misbehave by pod environment (local-cluster/echo-behaviour.ts); each test
// writes its routes and TrafficPolicies, waits for them to apply, then measures. Statistical bounds
// are the (±3 points over 2,000; ≥99% over 1,000; timeouts ±20%). One cluster for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { inNetns } from '../../local-cluster/host.js';
import type { L7ClientResult, L7ClientSpec } from '../../local-cluster/l7-client.js';
import { spawnIn, type ManagedProcess } from '../../local-cluster/processes.js';
import { distScript } from '../../local-cluster/host.js';
import {
  CONTROL_ADDRESS,
  GRPC_PORT,
  HTTP_PORT,
  type PodSpec,
  type ServiceSpec,
  type TopologySpec,
} from '../../local-cluster/topology.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();
const NS = 'resil';
const ports = [
  { name: 'http', port: 80, targetPort: HTTP_PORT },
  { name: 'grpc', port: GRPC_PORT, targetPort: GRPC_PORT },
];
const pod = (name: string, node: number, app: string, extra: Partial<PodSpec> = {}): PodSpec => ({
  name,
  namespace: NS,
  node,
  labels: { app, ...extra.labels },
  serviceAccount: extra.serviceAccount ?? app,
  ...(extra.env ? { env: extra.env } : {}),
});
const svc = (name: string, selector: Record<string, string>): ServiceSpec => ({
  name,
  namespace: NS,
  selector,
  ports,
});

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [
    { name: NS, labels: { 'ambit.dev/dataplane-mode': 'ambient', 'ambit.dev/use-waypoint': 'waypoint' } },
  ],
  pods: [
    pod('client', 1, 'client'),
    pod('other', 1, 'other'),
    pod('api-v1-a', 1, 'api', { labels: { version: 'v1' }, serviceAccount: 'api' }),
    pod('api-v1-b', 2, 'api', { labels: { version: 'v1' }, serviceAccount: 'api' }),
    pod('api-v2', 2, 'api', { labels: { version: 'v2' }, serviceAccount: 'api' }),
    pod('flaky-bad', 2, 'flaky', { env: { AMBIT_ECHO_FAIL_PERCENT: '50' } }),
    pod('flaky-good', 1, 'flaky'),
    pod('broken', 2, 'broken', { env: { AMBIT_ECHO_STATUS: '503' } }),
    pod('hang', 1, 'hang', { env: { AMBIT_ECHO_HANG: '1' } }),
    pod('od-bad', 2, 'od', { env: { AMBIT_ECHO_STATUS: '503' } }),
    pod('od-good-1', 1, 'od'),
    pod('od-good-2', 2, 'od'),
    pod('slow', 2, 'slow', { env: { AMBIT_ECHO_DELAY_MS: '300' } }),
    pod('plain', 1, 'plain'),
    pod('mirror', 2, 'mirror'),
    pod('mirror-hang', 2, 'mirror-hang', { env: { AMBIT_ECHO_HANG: '1' } }),
  ],
  services: [
    svc('api', { app: 'api' }),
    svc('api-v1', { app: 'api', version: 'v1' }),
    svc('api-v2', { app: 'api', version: 'v2' }),
    svc('flaky', { app: 'flaky' }),
    svc('broken', { app: 'broken' }),
    svc('hang', { app: 'hang' }),
    svc('od', { app: 'od' }),
    svc('slow', { app: 'slow' }),
    svc('plain', { app: 'plain' }),
    svc('mirror', { app: 'mirror' }),
    svc('mirror-hang', { app: 'mirror-hang' }),
  ],
  // instance 2 is for the rollout; it starts not Ready
  waypoints: [{ name: 'waypoint', namespace: NS, instances: [2, 1] }],
};

type Doc = Record<string, unknown>;
const route = (
  service: string,
  rules: Doc[],
  kind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute',
  port = 80,
): Doc => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind,
  metadata: { name: `${service}-${kind.toLowerCase()}`, namespace: NS },
  spec: { parentRefs: [{ group: '', kind: 'Service', name: service, port }], rules },
});
const policy = (service: string, body: Doc): Doc => ({
  apiVersion: 'networking.ambit.dev/v1alpha1',
  kind: 'TrafficPolicy',
  metadata: { name: service, namespace: NS },
  spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], ...body },
});
const authz = (name: string, action: 'ALLOW' | 'DENY', rules: Doc[]): Doc => ({
  apiVersion: 'security.ambit.dev/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace: NS },
  spec: { targetRefs: [{ group: '', kind: 'Service', name: 'plain' }], action, rules },
});
const principal = (sa: string): string => `cluster.local/ns/${NS}/sa/${sa}`;

describe.skipIf(!enabled)('waypoint resilience (end to end)', () => {
  let cluster: LocalCluster;
  let prefix = '';
  let waypoint: ManagedProcess | undefined;
  let otlp: ManagedProcess | undefined;
  const OTLP_PORT = 4318;

  const vip = (name: string): string =>
    cluster.topology.services.find((s) => s.spec.name === name)?.vip ?? '';
  const http = (service: string, extra: Partial<L7ClientSpec> = {}): L7ClientSpec => ({
    mode: 'http',
    target: `http://${vip(service)}/`,
    authority: service,
    count: 1,
    concurrency: 8,
    timeoutMs: 5000,
    ...extra,
  });
  const send = (spec: L7ClientSpec, from = 'client'): Promise<L7ClientResult> => cluster.l7InPod(from, spec);
  const ok = (r: L7ClientResult): number => r.byStatus['200'] ?? r.byStatus.OK ?? 0;

  /** Writes the manifests, then waits until `ready` holds for a probe request (config applied). */
  const apply = async (
    docs: Doc[],
    probe: L7ClientSpec,
    ready: (r: L7ClientResult) => boolean,
  ): Promise<void> => {
    cluster.setExtraManifests(docs);
    await until(
      `the waypoint to apply ${docs.map((d) => (d.metadata as { name: string }).name).join(', ')}`,
      async () => ready(await send(probe)),
      20_000,
      300,
    );
  };

  /** A pod's own request counter (read from its node's netns: not captured, not counted). */
  const counter = (
    name: string,
    method: 'GET' | 'DELETE' = 'GET',
  ): { total: number; byMethod: Record<string, number> } => {
    const p = cluster.pod(name);
    const out = inNetns(p.node.netns, [
      'curl',
      '-s',
      '-m',
      '2',
      '-X',
      method,
      `http://${p.ip}:${HTTP_PORT}/ambit/requests`,
    ]);
    return JSON.parse(out) as { total: number; byMethod: Record<string, number> };
  };

  const waypointLog = (from: number): string => (waypoint?.lines ?? []).slice(from).slice(-10).join('\n');

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    cluster.setExtraManifests([]);
    cluster.setPodReady('waypoint-2', false);
    await cluster.startController();
    for (const n of cluster.topology.nodes) await cluster.startAgent(n.index);
    for (const n of cluster.topology.nodes) await cluster.startZtunnel(n.index);
    // an OTLP/HTTP receiver in the control netns, where the waypoint pods reach it
    otlp = cluster.track(
      spawnIn({ netns: cluster.topology.controlNetns }, 'otlp receiver', [
        process.execPath,
        distScript('local-cluster/otlp-receiver'),
        CONTROL_ADDRESS,
        String(OTLP_PORT),
      ]),
    );
    await otlp.waitForLine(/otlp receiver on/, 10_000);
    waypoint = await cluster.startWaypoint(NS, 'waypoint', {
      pod: 'waypoint-1',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://${CONTROL_ADDRESS}:${OTLP_PORT}` },
    });
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('canary: a 90/10 split over 2,000 requests lands within ±3 points; a header match goes to the canary', async () => {
    const docs = [
      route('api', [
        {
          matches: [{ headers: [{ name: 'x-canary', value: '1' }] }],
          backendRefs: [{ name: 'api-v2', port: 80 }],
        },
        {
          backendRefs: [
            { name: 'api-v1', port: 80, weight: 90 },
            { name: 'api-v2', port: 80, weight: 10 },
          ],
        },
      ]),
    ];
    await apply(
      docs,
      http('api', { headers: { 'x-canary': '1' }, count: 5 }),
      (r) => r.byPod['api-v2'] === 5,
    );
    const split = await send(http('api', { count: 2000, concurrency: 16 }));
    expect(ok(split), JSON.stringify(split.byStatus)).toBe(2000);
    const v2 = (split.byPod['api-v2'] ?? 0) / 2000;
    expect(v2, JSON.stringify(split.byPod)).toBeGreaterThanOrEqual(0.07);
    expect(v2, JSON.stringify(split.byPod)).toBeLessThanOrEqual(0.13);
    const canary = await send(http('api', { count: 200, headers: { 'x-canary': '1' } }));
    expect(canary.byPod).toEqual({ 'api-v2': 200 });
  });

  it('retries: a backend failing 50% with 503 behind 3 retries: ≥99% of 1,000 succeed; a POST is not retried; the budget caps the extra load', async () => {
    const docs = [
      route('flaky', [{ retry: { attempts: 3, codes: [503] }, backendRefs: [{ name: 'flaky', port: 80 }] }]),
      route('broken', [
        { retry: { attempts: 3, codes: [503] }, backendRefs: [{ name: 'broken', port: 80 }] },
      ]),
      policy('broken', { retryBudget: { percent: 10, minRetryConcurrency: 1 } }),
    ];
    counter('broken', 'DELETE');
    await apply(docs, http('broken', { count: 1 }), () => counter('broken').total >= 2);
    const r = await send(http('flaky', { count: 1000, concurrency: 2 }));
    expect(ok(r), JSON.stringify(r.byStatus)).toBeGreaterThanOrEqual(990);

    counter('broken', 'DELETE');
    const post = await send(http('broken', { count: 20, concurrency: 1, method: 'POST', body: 'x' }));
    expect(post.byStatus).toEqual({ '503': 20 });
    expect(counter('broken').byMethod.POST, 'each POST reaches the backend exactly once').toBe(20);
    const get = await send(http('broken', { count: 20, concurrency: 1 }));
    expect(get.byStatus).toEqual({ '503': 20 });
    expect(counter('broken').byMethod.GET, 'GETs are retried').toBeGreaterThan(20);

    // budget: 10% of 20 in flight (at least 1) may be retries; unbudgeted, 3 retries would make 4x
    counter('broken', 'DELETE');
    await send(http('broken', { count: 400, concurrency: 20 }));
    const attempts = counter('broken').byMethod.GET ?? 0;
    expect(attempts).toBeGreaterThanOrEqual(400);
    expect(attempts, 'attempts reaching the always-failing backend').toBeLessThanOrEqual(800);
  });

  it('timeouts: a hanging backend gives 504 at the request timeout (±20%)', async () => {
    await apply(
      [route('hang', [{ timeouts: { request: '1s' }, backendRefs: [{ name: 'hang', port: 80 }] }])],
      http('hang'),
      (r) => r.byStatus['504'] === 1,
    );
    const r = await send(http('hang', { count: 10, concurrency: 5, samples: true }));
    expect(r.byStatus).toEqual({ '504': 10 });
    for (const s of r.samples ?? []) {
      expect(s.ms).toBeGreaterThanOrEqual(800);
      expect(s.ms).toBeLessThanOrEqual(1200);
    }
  });

  it('outlier detection ejects an endpoint after 5 consecutive 5xx and returns it after the interval', async () => {
    await apply(
      [
        policy('od', {
          outlierDetection: {
            consecutive5xxErrors: 5,
            interval: '1s',
            baseEjectionTime: '3s',
            maxEjectionPercent: 50,
          },
        }),
      ],
      http('od', { count: 60, concurrency: 1 }),
      (r) => (r.byPod['od-bad'] ?? 0) <= 6 && ok(r) >= 54,
    );
    // now ejected: every request goes to the good ones
    const during = await send(http('od', { count: 100, concurrency: 1 }));
    expect(during.byPod['od-bad'] ?? 0).toBe(0);
    expect(ok(during), JSON.stringify(during.byStatus)).toBe(100);
    await new Promise((r) => setTimeout(r, 4500));
    const after = await send(http('od', { count: 30, concurrency: 1 }));
    expect(after.byPod['od-bad'] ?? 0, 'the endpoint is back after the ejection time').toBeGreaterThan(0);
  });

  it('connection-pool overflow gets 503 with the UO flag', async () => {
    await apply(
      [policy('slow', { connectionPool: { http: { http2MaxRequests: 2, http1MaxPendingRequests: 1 } } })],
      http('slow', { count: 20, concurrency: 20 }),
      (r) => (r.byStatus['503'] ?? 0) > 0,
    );
    const r = await send(http('slow', { count: 40, concurrency: 20 }));
    expect(r.byStatus['503'] ?? 0).toBeGreaterThan(0);
    expect(ok(r)).toBeGreaterThan(0);
    const wp = cluster.waypointPod(NS, 'waypoint', 'waypoint-1');
    const metrics = cluster.curlInNetns(wp.netns, cluster.waypointUrl(wp, 15090, '/metrics'));
    expect(metrics).toMatch(
      /istio_requests_total\{[^}]*response_code="503"[^}]*response_flags="UO"|istio_requests_total\{[^}]*response_flags="UO"[^}]*response_code="503"/,
    );
  });

  it('faults: 10% aborts and a 100 ms delay on half the requests, within tolerance over 1,000', async () => {
    await apply(
      [
        policy('api-v1', { fault: { abort: { percentage: { value: 10 }, httpStatus: 503 } } }),
        policy('api-v2', { fault: { delay: { percentage: { value: 50 }, fixedDelay: '100ms' } } }),
      ],
      http('api-v1', { count: 50 }),
      (r) => (r.byStatus['503'] ?? 0) > 0,
    );
    const aborts = await send(http('api-v1', { count: 1000, concurrency: 16 }));
    const share = (aborts.byStatus['503'] ?? 0) / 1000;
    expect(share).toBeGreaterThanOrEqual(0.07);
    expect(share).toBeLessThanOrEqual(0.13);
    const delays = await send(http('api-v2', { count: 1000, concurrency: 50, samples: true }));
    expect(ok(delays), JSON.stringify(delays.byStatus)).toBe(1000);
    const delayed = (delays.samples ?? []).filter((s) => s.ms >= 100).length / 1000;
    expect(delayed).toBeGreaterThanOrEqual(0.45);
    expect(delayed).toBeLessThanOrEqual(0.6);
  });

  it('mirror: the mirror gets every request; a hanging mirror does not slow the client', async () => {
    const mirrorTo = (target: string): Doc[] => [
      route('api-v1', [
        {
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: target, port: 80 } } }],
          backendRefs: [{ name: 'api-v1', port: 80 }],
        },
      ]),
    ];
    counter('mirror', 'DELETE');
    await apply(mirrorTo('mirror'), http('api-v1'), () => counter('mirror').total > 0);
    counter('mirror', 'DELETE');
    const r = await send(http('api-v1', { count: 200 }));
    expect(ok(r), JSON.stringify(r.byStatus)).toBe(200);
    await until('the mirror to receive all 200', () => counter('mirror').total >= 200, 5000, 100);
    expect(counter('mirror').total).toBe(200);

    const baseline = await send(http('api-v1', { count: 200, concurrency: 4 }));
    await apply(mirrorTo('mirror-hang'), http('api-v1'), () => true);
    await new Promise((res) => setTimeout(res, 2000));
    const withHang = await send(http('api-v1', { count: 200, concurrency: 4 }));
    expect(ok(withHang), JSON.stringify(withHang.byStatus)).toBe(200);
    expect(withHang.latencyMs.p99).toBeLessThan(baseline.latencyMs.p99 + 50);
  });

  it('gRPC: unary and server streaming work; UNAVAILABLE is retried', async () => {
    const grpc = (extra: Partial<L7ClientSpec>): L7ClientSpec => ({
      mode: 'grpc-unary',
      target: `${vip('api')}:${GRPC_PORT}`,
      authority: `api:${GRPC_PORT}`,
      count: 50,
      concurrency: 4,
      timeoutMs: 5000,
      ...extra,
    });
    await apply(
      [
        route('api', [{ backendRefs: [{ name: 'api', port: GRPC_PORT }] }], 'GRPCRoute', GRPC_PORT),
        policy('api', { retry: { attempts: 3, retryOn: 'unavailable' } }),
      ],
      grpc({ count: 3, uniqueIds: true, headers: { 'x-ambit-echo-succeed-after': '1' } }),
      (r) => ok(r) === 3,
    );
    const unary = await send(grpc({}));
    expect(unary.byStatus).toEqual({ OK: 50 });
    const streams = await send(grpc({ mode: 'grpc-stream', count: 10, streamCount: 5, samples: true }));
    expect(streams.byStatus).toEqual({ OK: 10 });
    expect((streams.samples ?? []).every((s) => s.messages === 5)).toBe(true);
    // every call fails once with UNAVAILABLE (echo retry simulation), then succeeds: all OK.
    // Three at a time: the default retry budget allows 3 concurrent retries (Envoy's minimum), a
    // 4th would be refused and answered UNAVAILABLE (waypoint-grpc-tracing.test.ts covers that)
    const retried = await send(
      grpc({ uniqueIds: true, concurrency: 3, headers: { 'x-ambit-echo-succeed-after': '1' } }),
    );
    expect(retried.byStatus).toEqual({ OK: 50 });
  });

  it('L7 authorization: DENY before ALLOW, by principal, path and method; refused with a bare 403', async () => {
    await apply(
      [
        authz('deny-other-admin', 'DENY', [
          {
            from: [{ source: { principals: [principal('other')] } }],
            to: [{ operation: { paths: ['/admin*'] } }],
          },
        ]),
        authz('allow-get', 'ALLOW', [
          {
            from: [{ source: { principals: [principal('client'), principal('other')] } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ]),
      ],
      http('plain', { method: 'POST', body: 'x' }),
      (r) => r.byStatus['403'] === 1,
    );
    const cases: { from: string; method: string; path: string; want: string }[] = [
      { from: 'client', method: 'GET', path: '/x', want: '200' },
      { from: 'client', method: 'POST', path: '/x', want: '403' },
      { from: 'client', method: 'GET', path: '/admin/x', want: '200' },
      { from: 'other', method: 'GET', path: '/admin/x', want: '403' },
      { from: 'other', method: 'GET', path: '/x', want: '200' },
    ];
    for (const c of cases) {
      const r = await send(
        http('plain', {
          target: `http://${vip('plain')}${c.path}`,
          method: c.method,
          ...(c.method === 'POST' ? { body: 'x' } : {}),
          count: 3,
        }),
        c.from,
      );
      expect(r.byStatus, `${c.from} ${c.method} ${c.path}`).toEqual({ [c.want]: 3 });
    }
  });

  it('traces: a sampled request gives a server span under the client span and a client span per attempt', async () => {
    // spans go to the OTLP receiver in the control netns (beforeAll); the request's own sampled
    // traceparent decides, whatever --trace-sampling says
    await apply(
      [route('api', [{ backendRefs: [{ name: 'api-v1', port: 80 }], retry: { attempts: 2, codes: [503] } }])],
      http('api', { count: 1 }),
      (r) => ok(r) === 1,
    );
    const traceId = 'a'.repeat(24) + Date.now().toString(16).padStart(8, '0').slice(-8);
    const clientSpan = 'b'.repeat(16);
    const r = await send(
      http('api', {
        headers: {
          traceparent: `00-${traceId}-${clientSpan}-01`,
          // fails once with 503, then answers: two attempts
          'x-ambit-echo-id': `trace-${traceId}`,
          'x-ambit-echo-succeed-after': '1',
          'x-ambit-echo-status': '503',
        },
      }),
    );
    expect(r.byStatus).toEqual({ '200': 1 });
    interface Span {
      span: string;
      kind: number;
      traceId: string;
      spanId: string;
      parentSpanId: string;
      service: string;
    }
    const found = await until(
      'the server span and both attempt spans at the OTLP receiver',
      () => {
        const spans = (otlp?.lines ?? [])
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Span)
          .filter((x) => x.traceId === traceId);
        const server = spans.find((x) => x.kind === 2);
        const attempts = spans.filter((x) => x.kind === 3 && x.parentSpanId === server?.spanId);
        // each api-v1 pod fails its first try of this id: 2 or 3 attempts, whichever pods they hit
        return server && attempts.length >= 2 ? { server, attempts } : undefined;
      },
      20_000,
      200,
    );
    expect(found.server.parentSpanId).toBe(clientSpan);
    expect(found.server.span).toBe(`api.${NS}.svc.cluster.local:80/*`);
    expect(found.server.service).toBe(`api.${NS}.svc.cluster.local`);
    for (const a of found.attempts) expect(a.span).toBe(found.server.span);
    expect(new Set(found.attempts.map((a) => a.spanId)).size).toBe(found.attempts.length);
    const access = (waypoint?.lines ?? []).find((l) => l.includes(`"traceId":"${traceId}"`));
    expect(access).toContain(`"attempts":${found.attempts.length}`);
  });

  it('rolling the waypoint under 200 req/s loses no request', async () => {
    cluster.setExtraManifests([]);
    const load = send(http('api-v1', { count: 1600, ratePerSec: 200, concurrency: 20 }));
    await new Promise((r) => setTimeout(r, 1000));
    const second = await cluster.startWaypoint(NS, 'waypoint', { pod: 'waypoint-2' });
    cluster.setPodReady('waypoint-2', true);
    await new Promise((r) => setTimeout(r, 1500));
    cluster.setPodReady('waypoint-1', false);
    await new Promise((r) => setTimeout(r, 1500));
    const first = waypoint;
    const lines = first?.lines.length ?? 0;
    await first?.stop(15_000);
    const r = await load;
    expect(r.byStatus, `first waypoint's last lines:\n${waypointLog(lines)}`).toEqual({ '200': 1600 });
    expect(second.running).toBe(true);
  });
});
