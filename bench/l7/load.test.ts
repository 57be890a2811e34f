import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { directDialer } from '../l4/load.js';
import { fixedRate, maxThroughput, type HttpTarget } from './load.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server on 127.0.0.1:0 answering each request with `answer(n)` (n counts from 1). */
async function server(
  answer: (n: number, res: http.ServerResponse) => void,
): Promise<HttpTarget & { seen: () => number }> {
  let n = 0;
  const s = http.createServer((req, res) => {
    req.resume();
    answer(++n, res);
  });
  s.keepAliveTimeout = 60_000;
  servers.push(s);
  await new Promise<void>((r) => s.listen({ host: '127.0.0.1', port: 0 }, r));
  s.on('connection', (c: net.Socket) => c.unref());
  return {
    dialer: directDialer(),
    address: { ip: '127.0.0.1', port: (s.address() as net.AddressInfo).port },
    host: 'bench.test',
    path: '/',
    seen: () => n,
  };
}

const ok1k = (_n: number, res: http.ServerResponse) => res.end(Buffer.alloc(1024));

describe('fixedRate', () => {
  it('sends exactly rate x seconds requests and counts every 2xx', async () => {
    const t = await server(ok1k);
    const r = await fixedRate(t, { rate: 200, seconds: 0.5 });
    expect(r).toMatchObject({ sent: 100, ok: 100, failed: 0, statuses: {} });
    expect(t.seen()).toBe(100);
    expect(r.p99ms).toBeGreaterThanOrEqual(r.p50ms);
  });

  it('tallies non-2xx answers by status', async () => {
    const t = await server((n, res) => {
      res.statusCode = n % 2 === 0 ? 503 : 200;
      res.end('x');
    });
    const r = await fixedRate(t, { rate: 100, seconds: 0.2 });
    expect(r.ok + (r.statuses['503'] ?? 0)).toBe(20);
    expect(r.statuses['503']).toBe(10);
  });

  it('counts requests on connections the server closes as failed, and goes on with new ones', async () => {
    const t = await server((n, res) => {
      if (n % 5 === 0) res.socket?.destroy();
      else res.end('ok');
    });
    const r = await fixedRate(t, { rate: 100, seconds: 0.5, drainMs: 1_000 });
    expect(r.ok).toBe(40);
    expect(r.failed).toBe(10);
  });

  it('counts requests never answered by the drain deadline as failed', async () => {
    const t = await server(() => undefined); // hangs
    const r = await fixedRate(t, { rate: 50, seconds: 0.1, connections: 2, drainMs: 200 });
    expect(r).toMatchObject({ ok: 0, failed: 5 });
  });
});

describe('fixedRate pool', () => {
  it('opens the pool before the clock starts and refuses to run without it', async () => {
    const t: HttpTarget = {
      dialer: directDialer(),
      address: { ip: '127.0.0.1', port: 1 },
      host: 'x',
      path: '/',
    };
    await expect(fixedRate(t, { rate: 100, seconds: 0.1 })).rejects.toThrow(/connection pool/);
  });

  it('uses exactly the pool it was given', async () => {
    const t = await server(ok1k);
    let dials = 0;
    const counted: HttpTarget = { ...t, dialer: { dial: (a) => (dials++, t.dialer.dial(a)) } };
    const r = await fixedRate(counted, { rate: 200, seconds: 0.25, connections: 3 });
    expect(r.ok).toBe(50);
    expect(dials).toBe(3);
  });

  it('replaces connections the peer closed while idle instead of failing requests on them', async () => {
    const t = await server((_n, res) => {
      res.setHeader('connection', 'close'); // every answer closes its connection
      res.end('ok');
    });
    const r = await fixedRate(t, { rate: 100, seconds: 0.2, connections: 2, drainMs: 1_000 });
    expect(r).toMatchObject({ ok: 20, failed: 0 });
  });
});

describe('maxThroughput', () => {
  it('keeps N connections busy until the deadline', async () => {
    const t = await server(ok1k);
    const r = await maxThroughput(t, { connections: 4, seconds: 0.3 });
    expect(r.ok).toBeGreaterThan(0);
    expect(r.failed).toBe(0);
    expect(r.sent).toBe(r.ok);
  });

  it('ends when a dead path used up its replacements instead of spinning', async () => {
    const t: HttpTarget = {
      dialer: directDialer(),
      address: { ip: '127.0.0.1', port: 1 }, // nothing listens: refused
      host: 'x',
      path: '/',
    };
    const r = await maxThroughput(t, { connections: 2, seconds: 30 });
    expect(r.ok).toBe(0);
    expect(r.failed).toBe(4); // 2 first dials + 2 replacements
  });
});
