import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WaypointTracer } from './tracing.js';
import { parseTraceparent } from './trace-context.js';

// A local OTLP/HTTP receiver: the exporter posts JSON (application/json) to /v1/traces.
interface OtlpAttr {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttr[];
  status?: { code?: number };
}
interface OtlpBody {
  resourceSpans: { resource: { attributes: OtlpAttr[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}
interface Received {
  service: string | undefined;
  span: OtlpSpan;
}

let server: http.Server;
let endpoint: string;
let posts: { path: string | undefined; contentType: string | undefined; body: OtlpBody }[];

beforeEach(async () => {
  posts = [];
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({
        path: req.url,
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function spans(): Received[] {
  return posts.flatMap((p) =>
    p.body.resourceSpans.flatMap((rs) => {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
      return rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ service, span })));
    }),
  );
}

function must<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`missing ${what}`);
  return v;
}

const attr = (s: OtlpSpan, key: string) => s.attributes.find((a) => a.key === key)?.value.stringValue;

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const HOST = 'cart.shop.svc.cluster.local';

function start(tracer: WaypointTracer, headers: Record<string, string>, tunnelTraceparent?: string) {
  return tracer.startServer({
    headers: { 'user-agent': 'curl/8', 'x-request-id': 'rid-1', ...headers },
    tunnelTraceparent,
    serviceHost: HOST,
    port: 8080,
    method: 'GET',
    url: `http://${HOST}:8080/api?x=1`,
    httpProtocol: 'HTTP/1.1',
    peerAddress: '10.0.1.5',
  });
}

describe('WaypointTracer', () => {
  it('exports a SERVER span and one CLIENT span per attempt, linked, to an OTLP/HTTP receiver', async () => {
    const tracer = new WaypointTracer({
      endpoint,
      samplingPercent: 0,
      random: () => 0.5,
      proxy: { namespace: 'shop', name: 'waypoint', ip: '10.0.3.9' },
    });
    const server = start(tracer, { traceparent: `00-${T}-${S}-01` });
    const a1 = server.startAttempt(1, '10.0.2.5:8080');
    const h1 = a1.headers();
    a1.end(503);
    const a2 = server.startAttempt(2, '10.0.2.6:8080');
    const h2 = a2.headers();
    a2.end(200);
    server.end({ status: 200, flags: 'URX', requestBytes: 10, responseBytes: 20 });
    await tracer.shutdown();

    expect(posts.every((p) => p.path === '/v1/traces')).toBe(true);
    expect(posts[0]?.contentType).toContain('application/json');
    const got = spans();
    expect(got).toHaveLength(3);
    const srv = got.filter((g) => g.span.kind === 2); // SPAN_KIND_SERVER
    const cli = got.filter((g) => g.span.kind === 3); // SPAN_KIND_CLIENT
    expect(srv).toHaveLength(1);
    expect(cli).toHaveLength(2);
    const s0 = must(srv[0], 'server span').span;
    expect(s0.traceId).toBe(T);
    expect(s0.parentSpanId).toBe(S);
    expect(s0.spanId).toBe(server.spanId);
    for (const c of cli) {
      expect(c.span.traceId).toBe(T);
      expect(c.span.parentSpanId).toBe(server.spanId);
    }
    // the upstream request of each attempt names that attempt's client span as its parent
    const ids = [parseTraceparent(h1.traceparent)?.spanId, parseTraceparent(h2.traceparent)?.spanId];
    expect(ids.sort()).toEqual(cli.map((c) => c.span.spanId).sort());
    expect(new Set(ids).size).toBe(2);
    expect(h1.b3).toBeUndefined();
    for (const g of got) {
      expect(g.span.name).toBe(`${HOST}:8080/*`);
      expect(g.service).toBe(HOST);
      expect(attr(g.span, 'component')).toBe('proxy');
      expect(attr(g.span, 'http.method')).toBe('GET');
      expect(attr(g.span, 'istio.namespace')).toBe('shop');
      expect(attr(g.span, 'upstream_cluster')).toBe(`outbound|8080||${HOST}`);
      expect(attr(g.span, 'guid:x-request-id')).toBe('rid-1');
    }
    expect(attr(s0, 'response_flags')).toBe('URX');
    expect(attr(s0, 'http.status_code')).toBe('200');
    expect(attr(s0, 'node_id')).toBe('waypoint~10.0.3.9~waypoint.shop~shop.svc.cluster.local');
    const failed = cli.find((c) => attr(c.span, 'http.status_code') === '503');
    expect(attr(must(failed, 'failed attempt').span, 'error')).toBe('true');
    expect(failed?.span.status?.code).toBe(2); // STATUS_CODE_ERROR
  });

  it('an unsampled request exports nothing but still propagates ids with sampled=0', async () => {
    const tracer = new WaypointTracer({ endpoint, samplingPercent: 100, random: () => 0 });
    const server = start(tracer, { traceparent: `00-${T}-${S}-00` });
    const a = server.startAttempt(1);
    const tp = parseTraceparent(a.headers().traceparent);
    expect(tp).toMatchObject({ traceId: T, sampled: false });
    expect(tp?.spanId).not.toBe(S);
    a.end(200);
    server.end({ status: 200, flags: '-' });
    await tracer.shutdown();
    expect(posts).toEqual([]);
  });

  it('samples samplingPercent of requests without a decision, from random()', async () => {
    const draws = [0.004, 0.02];
    const tracer = new WaypointTracer({ endpoint, samplingPercent: 1, random: () => draws.shift() ?? 1 });
    const sampled = start(tracer, {});
    const dropped = start(tracer, {});
    expect(sampled.sampled).toBe(true);
    expect(dropped.sampled).toBe(false);
    expect(sampled.parent).toBeUndefined();
    sampled.end({ status: 200, flags: '-' });
    dropped.end({ status: 200, flags: '-' });
    await tracer.shutdown();
    const got = spans();
    expect(got).toHaveLength(1);
    expect(got[0]?.span.traceId).toBe(sampled.traceId);
    expect(got[0]?.span.parentSpanId ?? '').toBe('');
  });

  it("continues the tunnel's trace when the request has none, deciding sampling itself", () => {
    const tracer = new WaypointTracer({ samplingPercent: 0, random: () => 0.5 });
    const server = start(tracer, {}, `00-${T}-${S}-01`);
    expect(server.traceId).toBe(T);
    expect(server.parent?.spanId).toBe(S);
    expect(server.sampled).toBe(false);
  });

  it('propagates B3 in the form the request used, for the new span', () => {
    const tracer = new WaypointTracer({ samplingPercent: 0 });
    const single = start(tracer, { b3: `${T}-${S}-1` })
      .startAttempt(1)
      .headers();
    const [trace, span, sampled, parent] = (single.b3 ?? '').split('-');
    expect([trace, sampled]).toEqual([T, '1']);
    expect(span).toBe(parseTraceparent(single.traceparent)?.spanId);
    expect(parent).toMatch(/^[0-9a-f]{16}$/);
    const multi = start(tracer, { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '0' })
      .startAttempt(1)
      .headers();
    expect(multi['x-b3-traceid']).toBe(T);
    expect(multi['x-b3-sampled']).toBe('0');
    expect(multi['x-b3-spanid']).toBe(parseTraceparent(multi.traceparent)?.spanId);
    expect(multi.b3).toBeUndefined();
  });

  it('without an endpoint records nothing yet makes a fresh trace per request', async () => {
    const tracer = new WaypointTracer({ samplingPercent: 100 });
    expect(tracer.exporting).toBe(false);
    const a = start(tracer, {});
    const b = start(tracer, {});
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.traceId).not.toBe(b.traceId);
    expect(parseTraceparent(a.startAttempt(1).headers().traceparent)?.sampled).toBe(true);
    await tracer.shutdown();
  });
});
