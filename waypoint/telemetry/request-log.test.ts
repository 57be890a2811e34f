import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { logRequest, type RequestLogEntry } from './request-log.js';

function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ name: 'waypoint' }, dest);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const entry: RequestLogEntry = {
  method: 'GET',
  authority: 'cart.shop.svc.cluster.local:8080',
  path: '/api/items?x=1',
  protocol: 'http',
  httpVersion: '1.1',
  responseCode: 200,
  flags: '-',
  durationMs: 4.5,
  bytesIn: 120,
  bytesOut: 2048,
  upstream: '10.0.2.5:8080',
  attempts: 2,
  route: 'HTTPRoute/shop/cart',
  service: 'cart.shop.svc.cluster.local',
  sourcePrincipal: 'spiffe://cluster.local/ns/web/sa/frontend',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
};

describe('logRequest', () => {
  it('writes one JSON line with the request fields under access', () => {
    const { logger, lines } = capture();
    logRequest(logger, entry);
    const out = lines();
    expect(out).toHaveLength(1);
    expect(out[0]?.access).toEqual(entry);
    expect(out[0]?.msg).toBe(
      'GET cart.shop.svc.cluster.local:8080/api/items?x=1 200 - spiffe://cluster.local/ns/web/sa/frontend',
    );
    expect(out[0]?.level).toBe(30);
  });

  it('caps the path, authority and other peer-controlled strings', () => {
    const { logger, lines } = capture();
    const long = '/' + 'a'.repeat(10_000);
    logRequest(logger, { ...entry, path: long, authority: 'h'.repeat(5000), userAgent: 'u'.repeat(3000) });
    const a = lines()[0]?.access as Record<string, string>;
    expect(a.path?.length).toBeLessThan(300);
    expect(a.path).toContain('…[+9745 chars]');
    expect(a.authority?.length).toBeLessThan(300);
    expect(a.userAgent?.length).toBeLessThan(300);
    expect(JSON.stringify(lines()[0]).length).toBeLessThan(3000);
  });
});
