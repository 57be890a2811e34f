// An L7 client run inside a pod (its netns and cgroup, so the kernel sends it through the mesh)
// by the demo and the waypoint e2e suites: many HTTP/1.1 requests over keep-alive connections, or
// gRPC calls to the pod app's GrpcEcho, in one process instead of one curl each. Prints one JSON
// line: how many were sent, by status (HTTP code or gRPC status name), by answering pod, latency
// percentiles, and (with `samples`) each request's outcome in order.
// Usage: node l7-client.js <base64url JSON of L7ClientSpec>
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { EchoClient } from './echo-proto.js';

export interface L7ClientSpec {
  mode: 'http' | 'grpc-unary' | 'grpc-stream';
  /** http: a URL (the host is dialled as written: a VIP or pod IP); grpc: host:port */
  target: string;
  /** sent as Host (http) or :authority (grpc) when set */
  authority?: string;
  count: number;
  /** requests in flight at once (default 8) */
  concurrency?: number;
  /** start requests at this rate instead of back to back */
  ratePerSec?: number;
  method?: string;
  /** gRPC method for grpc-unary (default Echo) */
  grpcMethod?: 'Echo' | 'EchoTwo';
  headers?: Record<string, string>;
  body?: string;
  /** per request (default 10 s) */
  timeoutMs?: number;
  /** grpc-stream: messages per stream */
  streamCount?: number;
  /** include each request's outcome */
  samples?: boolean;
  /** a fresh x-ambit-echo-id header per request (the echo's retry simulation) */
  uniqueIds?: boolean;
  /** samples carry the request headers the echo saw (lower-case names, values joined with ",") */
  echoHeaders?: boolean;
}

export interface L7Sample {
  status: string;
  ms: number;
  pod: string;
  messages?: number;
  headers?: Record<string, string>;
}

export interface L7ClientResult {
  sent: number;
  byStatus: Record<string, number>;
  byPod: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  durationMs: number;
  samples?: L7Sample[];
}

export function encodeL7Spec(spec: L7ClientSpec): string {
  return Buffer.from(JSON.stringify(spec)).toString('base64url');
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export function summarize(samples: L7Sample[], durationMs: number, keepSamples: boolean): L7ClientResult {
  const byStatus: Record<string, number> = {};
  const byPod: Record<string, number> = {};
  for (const s of samples) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    byPod[s.pod] = (byPod[s.pod] ?? 0) + 1;
  }
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    sent: samples.length,
    byStatus,
    byPod,
    latencyMs: {
      p50: round(percentile(ms, 50)),
      p90: round(percentile(ms, 90)),
      p99: round(percentile(ms, 99)),
      max: round(ms[ms.length - 1] ?? 0),
      mean: round(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)),
    },
    durationMs: Math.round(durationMs),
    ...(keepSamples ? { samples } : {}),
  };
}

/** The answering pod and the request headers it saw, from the echo's JSON body. */
function echoOf(body: string): { pod: string; headers: Record<string, string> } {
  try {
    const parsed = JSON.parse(body) as { pod?: unknown; headers?: unknown };
    const headers: Record<string, string> = {};
    if (typeof parsed.headers === 'object' && parsed.headers !== null) {
      for (const [k, v] of Object.entries(parsed.headers)) {
        if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String).join(',');
      }
    }
    return { pod: typeof parsed.pod === 'string' ? parsed.pod : 'none', headers };
  } catch {
    return { pod: 'none', headers: {} };
  }
}

function httpOne(spec: L7ClientSpec, agent: http.Agent, i: number): Promise<L7Sample> {
  const started = performance.now();
  const url = new URL(spec.target);
  const headers: Record<string, string> = { ...spec.headers };
  if (spec.authority) headers.host = spec.authority;
  if (spec.uniqueIds)
    headers['x-ambit-echo-id'] = `${process.pid}-${i}-${Math.random().toString(36).slice(2)}`;
  if (spec.body !== undefined) headers['content-length'] = String(Buffer.byteLength(spec.body));
  return new Promise((resolve) => {
    const done = (status: string, body: string): void => {
      const echo = echoOf(body);
      resolve({
        status,
        pod: echo.pod,
        ms: performance.now() - started,
        ...(spec.echoHeaders ? { headers: echo.headers } : {}),
      });
    };
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port || 80,
        path: url.pathname + url.search,
        method: spec.method ?? 'GET',
        headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 65536) body += c;
        });
        res.on('end', () => done(String(res.statusCode ?? 0), body));
        res.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error', ''));
      },
    );
    req.setTimeout(spec.timeoutMs ?? 10_000, () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
    );
    req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error', ''));
    req.end(spec.body);
  });
}

function grpcOne(spec: L7ClientSpec, client: EchoClient, i: number): Promise<L7Sample> {
  const started = performance.now();
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(spec.headers ?? {})) md.set(k, v);
  if (spec.uniqueIds) md.set('x-ambit-echo-id', `${process.pid}-${i}-${Math.random().toString(36).slice(2)}`);
  const opts = { deadline: Date.now() + (spec.timeoutMs ?? 10_000) };
  const ms = (): number => performance.now() - started;
  const failed = (err: unknown): L7Sample => {
    const code = (err as { code?: unknown }).code;
    return {
      status: typeof code === 'number' ? (grpc.status[code] ?? String(code)) : 'error',
      pod: 'none',
      ms: ms(),
    };
  };
  if (spec.mode === 'grpc-stream') {
    return client.stream({ message: `m${i}`, count: spec.streamCount ?? 3, intervalMs: 0 }, md, opts).then(
      (msgs) => ({
        status: 'OK',
        pod: msgs[0]?.assertions.context.pod ?? 'none',
        ms: ms(),
        messages: msgs.length,
      }),
      failed,
    );
  }
  return client.unary(spec.grpcMethod ?? 'Echo', { message: `m${i}` }, md, opts).then((r): L7Sample => {
    const headers: Record<string, string> = {};
    for (const h of r.assertions.headers) {
      const k = h.key.toLowerCase();
      headers[k] = headers[k] === undefined ? h.value : `${headers[k]},${h.value}`;
    }
    return {
      status: 'OK',
      pod: r.assertions.context.pod,
      ms: ms(),
      ...(spec.echoHeaders ? { headers } : {}),
    };
  }, failed);
}

export async function runL7Client(spec: L7ClientSpec): Promise<L7ClientResult> {
  const concurrency = Math.max(1, spec.concurrency ?? 8);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const grpcClient =
    spec.mode === 'http'
      ? undefined
      : new EchoClient(spec.target, spec.authority ? { 'grpc.default_authority': spec.authority } : {});
  const one = (i: number): Promise<L7Sample> =>
    grpcClient ? grpcOne(spec, grpcClient, i) : httpOne(spec, agent, i);
  const samples: L7Sample[] = new Array<L7Sample>(spec.count);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      const i = next++;
      if (spec.ratePerSec) {
        const due = started + (i * 1000) / spec.ratePerSec;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      samples[i] = await one(i);
    }
  };
  // with a rate, enough workers that slow answers do not lower it
  const workers = spec.ratePerSec ? Math.max(concurrency, Math.ceil(spec.ratePerSec / 10)) : concurrency;
  await Promise.all(Array.from({ length: Math.min(workers, spec.count) }, worker));
  agent.destroy();
  grpcClient?.close();
  return summarize(samples, performance.now() - started, spec.samples === true);
}

const isMain = process.argv[1]?.endsWith('l7-client.js') === true;
if (isMain) {
  const arg = process.argv[2] ?? '';
  const spec = JSON.parse(Buffer.from(arg, 'base64url').toString('utf8')) as L7ClientSpec;
  runL7Client(spec).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (err: unknown) => {
      process.stdout.write(JSON.stringify({ error: (err as Error).message }) + '\n');
      process.exit(1);
    },
  );
}
