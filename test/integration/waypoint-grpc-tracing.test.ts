// The waypoint with HTTP/2 clients on loopback (test/support/waypoint-mesh.ts): gRPC unary and
// server-streaming calls from a prior-knowledge h2c client through ztunnel -> waypoint -> ztunnel
// to a @grpc/grpc-js server, a TrafficPolicy retry on UNAVAILABLE, trace spans at a local OTLP/HTTP
// receiver with one server span and a client span per attempt, outlier ejection, pool overflow,
// and a drain that lets the request in flight finish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import { endpoint, service, workload } from '../../ztunnel/state/mesh-fixture.js';
import { startWaypointMesh, type WaypointMesh } from '../support/waypoint-mesh.js';
import { until } from '../support/until.js';

const P = '127.0.32';
const GRPC_IP = `${P}.40`;
const GRPC_VIP = `${P}.150`;

interface Span {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}
const spans: Span[] = [];
let otlp: http.Server;
let grpcServer: grpc.Server;
let grpcPort = 0;
let failNext = 0;
/** A TrafficPolicy retrying UNAVAILABLE up to 3 times on the gRPC Service. */
const GRPC_RETRY: MeshTrafficPolicy = {
  namespace: 'default',
  name: 'grpc-retry',
  services: ['default/grpc-echo'],
  retry: {
    attempts: 3,
    retryOn: ['unavailable'],
    retriableStatusCodes: [],
    baseIntervalMs: 1,
    maxIntervalMs: 10,
    retryNonIdempotent: false,
  },
};
/** Each message fails once with UNAVAILABLE, then succeeds (by message). */
let failEvery = false;
const failedOnce = new Set<string>();
let m: WaypointMesh;

const raw = {
  path: '',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

beforeAll(async () => {
  otlp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const doc = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: Span[] }[] }[];
      };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', r));
  grpcServer = new grpc.Server();
  grpcServer.addService(
    {
      Echo: { ...raw, path: '/test.Echo/Echo' },
      Count: { ...raw, path: '/test.Echo/Count', responseStream: true },
    },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const key = call.request.toString();
        if (failEvery && !failedOnce.has(key)) {
          failedOnce.add(key);
          cb({ code: grpc.status.UNAVAILABLE, details: 'try again' });
          return;
        }
        if (failNext > 0) {
          failNext--;
          cb({ code: grpc.status.UNAVAILABLE, details: 'try again' });
          return;
        }
        cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
      },
      Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 1; i <= 3; i++) call.write(Buffer.from(String(i)));
        call.end();
      },
    },
  );
  grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`${GRPC_IP}:0`, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  const grpcPod = workload({ name: 'grpc-echo', ip: GRPC_IP, node: 'n2', serviceAccount: 'server' });
  const port = otlp.address() as net.AddressInfo;
  m = await startWaypointMesh({
    prefix: P,
    otlpEndpoint: `http://127.0.0.1:${port.port}`,
    extra: () => ({
      workloads: [grpcPod],
      services: [
        service({
          name: 'grpc-echo',
          vip: GRPC_VIP,
          port: 9090,
          targetPort: grpcPort,
          waypoint: { namespace: 'default', name: 'wp' },
          endpoints: [endpoint(grpcPod, { '9090': grpcPort })],
        }),
      ],
    }),
  });
});
afterAll(async () => {
  await m?.stop();
  grpcServer?.forceShutdown();
  otlp?.close();
});

/** One gRPC call over prior-knowledge HTTP/2 through the client's SOCKS5 door. */
async function grpcCall(
  method: string,
  message: string,
): Promise<{ status: string | undefined; messages: string[]; headers: http2.IncomingHttpHeaders }> {
  const socket = await m.connect(GRPC_VIP, 9090);
  socket.resume();
  const session = http2.connect('http://grpc-echo.default.svc.cluster.local:9090', {
    createConnection: () => socket,
  });
  session.on('error', () => undefined);
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': `/test.Echo/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const msg = Buffer.from(message);
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1);
      msg.copy(frame, 5);
      req.end(frame);
      let headers: http2.IncomingHttpHeaders = {};
      let buf = Buffer.alloc(0);
      let status: string | undefined;
      req.on('response', (h) => {
        headers = h;
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      req.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
      req.on('trailers', (t) => (status = String(t['grpc-status'])));
      req.on('error', reject);
      req.on('end', () => {
        const messages: string[] = [];
        while (buf.length >= 5) {
          const n = buf.readUInt32BE(1);
          messages.push(buf.subarray(5, 5 + n).toString());
          buf = buf.subarray(5 + n);
        }
        resolve({ status, messages, headers });
      });
    });
  } finally {
    session.close();
  }
}

describe('gRPC through the waypoint', () => {
  it('carries a unary call and a server stream', async () => {
    await m.push();
    const u = await grpcCall('Echo', 'hi');
    expect(u.status).toBe('0');
    expect(u.messages).toStrictEqual(['echo:hi']);
    const s = await grpcCall('Count', '');
    expect(s.status).toBe('0');
    expect(s.messages).toStrictEqual(['1', '2', '3']);
  });

  it('retries UNAVAILABLE under a TrafficPolicy retry, with a span per attempt', async () => {
    await m.push({ trafficPolicies: [GRPC_RETRY] });
    failNext = 1;
    spans.length = 0;
    const r = await grpcCall('Echo', 'again');
    expect(r.status).toBe('0');
    expect(r.messages).toStrictEqual(['echo:again']);
    const got = await until(
      'the server span and two attempt spans at the OTLP receiver',
      () => {
        // the earlier test's spans may land here too: find the request that made two attempts
        for (const server of spans.filter(
          (s) => s.kind === 2 && s.name === 'grpc-echo.default.svc.cluster.local:9090/*',
        )) {
          const attempts = spans.filter((s) => s.kind === 3 && s.parentSpanId === server.spanId);
          if (attempts.length === 2) return { server, attempts };
        }
        return undefined;
      },
      20_000,
    );
    for (const a of got.attempts) expect(a.traceId).toBe(got.server.traceId);
    expect(new Set(got.attempts.map((a) => a.spanId)).size).toBe(2);
  });
});

describe('gRPC retries under concurrency', () => {
  it('every call failing once with UNAVAILABLE is answered, four at a time (none hangs)', async () => {
    await m.push({ trafficPolicies: [GRPC_RETRY] });
    failEvery = true;
    try {
      const statuses: (string | undefined)[] = [];
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; i < 12; i++) {
          const r = await Promise.race([
            grpcCall('Echo', `w${w}-${i}`),
            new Promise<{ status: string }>((resolve) => setTimeout(() => resolve({ status: 'HANG' }), 5000)),
          ]);
          statuses.push(r.status);
        }
      };
      await Promise.all([0, 1, 2, 3].map(worker));
      expect(statuses).toHaveLength(48);
      // a retry the budget refuses (a 4th concurrent one: Envoy's minimum of 3) answers the
      // UNAVAILABLE itself; none may hang
      expect(statuses.filter((s) => s !== '0' && s !== '14')).toStrictEqual([]);
    } finally {
      failEvery = false;
    }
  });
});

describe('outlier detection and pool limits', () => {
  it('ejects an endpoint after 5 consecutive 5xx and brings it back after the ejection time', async () => {
    const bad = m.backends.get('echo-v1');
    const good = m.backends.get('echo-v2');
    if (!bad || !good) throw new Error('fixture backends missing');
    bad.behave = (_req, res) => {
      res.writeHead(500);
      res.end('broken');
      return true;
    };
    good.behave = () => false;
    await m.push({
      trafficPolicies: [
        {
          namespace: 'default',
          name: 'od',
          services: ['default/echo'],
          outlierDetection: { consecutive5xxErrors: 5, baseEjectionTimeMs: 1500, maxEjectionPercent: 50 },
        },
      ],
    });
    bad.seen.length = 0;
    // round robin over two endpoints: 5 failures need about 10 requests
    for (let i = 0; i < 12; i++) await m.request('echo', { path: `/od${i}` });
    expect(bad.seen.length).toBe(5);
    for (let i = 0; i < 10; i++) expect((await m.request('echo')).status).toBe(200);
    expect(bad.seen.length).toBe(5);
    bad.behave = () => false;
    await new Promise((r) => setTimeout(r, 1600));
    for (let i = 0; i < 6; i++) await m.request('echo');
    expect(bad.seen.length).toBeGreaterThan(5);
  });

  it('answers 503 with flag UO when the request limit is full', async () => {
    const hold: http.ServerResponse[] = [];
    for (const b of m.backends.values())
      b.behave = (_req, res) => {
        hold.push(res);
        return true;
      };
    await m.push({
      trafficPolicies: [
        {
          namespace: 'default',
          name: 'pool',
          services: ['default/echo'],
          connectionPool: { http: { http2MaxRequests: 1 } },
        },
      ],
    });
    const first = m.request('echo', { agent: m.agent('echo') });
    await until('the first request to reach a backend', () => (hold.length === 1 ? true : undefined));
    const second = await m.request('echo', { agent: m.agent('echo') });
    expect(second.status).toBe(503);
    const text = await m.waypoint.telemetry.metrics.registry.getSingleMetricAsString('istio_requests_total');
    expect(text).toContain('response_flags="UO"');
    for (const r of hold) r.end('late');
    expect((await first).status).toBe(200);
    for (const b of m.backends.values()) b.behave = () => false;
  });
});

describe('drain', () => {
  it('lets a request in flight finish, answering it with Connection: close, and refuses new tunnels', async () => {
    await m.push();
    const hold: http.ServerResponse[] = [];
    for (const b of m.backends.values())
      b.behave = (_req, res) => {
        hold.push(res);
        return true;
      };
    const inFlight = m.request('echo', { agent: m.agent('echo') });
    await until('the request to reach a backend', () => (hold.length === 1 ? true : undefined));
    const drained = m.waypoint.drain(5_000);
    expect(m.waypoint.ready()).toBe(false);
    setTimeout(() => hold[0]?.end('finished'), 200);
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('finished');
    expect(r.headers.connection).toBe('close');
    await drained;
    expect(m.waypoint.requestsInFlight()).toBe(0);
  });
});
