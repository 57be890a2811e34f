// connectUpstream from a source address: bound with IP_BIND_ADDRESS_NO_PORT through koffi, then
// connected by Node. Real sockets on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { connectUpstream } from './upstream-connect.js';

let server: net.Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  server = net.createServer({ allowHalfOpen: true }, (s) => {
    seen.push(`${s.remoteAddress}:${s.remotePort}`);
    s.on('data', (d: Buffer) => s.end(d));
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.10.50', port: 0 }, r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(() => server.close());

describe('connectUpstream', () => {
  it('connects from the given source address and carries bytes both ways, half-open allowed', async () => {
    const s = await connectUpstream({ ip: '127.0.10.50', port }, { localAddress: '127.0.10.51' });
    expect(s.localAddress).toBe('127.0.10.51');
    const localPort = s.localPort;
    expect(localPort).toBeGreaterThan(0);
    expect(s.allowHalfOpen).toBe(true);
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
      s.end('ping');
    });
    expect(got).toBe('ping');
    expect(seen.at(-1)).toBe(`127.0.10.51:${localPort}`);
    s.destroy();
  });

  it('many connections from one source address each get their own working socket', async () => {
    const socks = await Promise.all(
      Array.from({ length: 50 }, () =>
        connectUpstream({ ip: '127.0.10.50', port }, { localAddress: '127.0.10.51' }),
      ),
    );
    expect(new Set(socks.map((s) => s.localPort)).size).toBe(50);
    for (const s of socks) s.destroy();
  });

  it('a refused connection rejects with ZT_UPSTREAM_CONNECT naming the destination', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen({ host: '127.0.10.50', port: 0 }, r));
    const closed = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(
      connectUpstream({ ip: '127.0.10.50', port: closed }, { localAddress: '127.0.10.51' }),
    ).rejects.toMatchObject({
      code: 'ZT_UPSTREAM_CONNECT',
      message: expect.stringContaining(`127.0.10.50:${closed}`),
    });
  });

  it('a source address that is not on this host rejects with the bind error', async () => {
    await expect(
      connectUpstream({ ip: '127.0.10.50', port }, { localAddress: '192.0.2.77' }),
    ).rejects.toMatchObject({
      code: 'ZT_UPSTREAM_CONNECT',
      message: expect.stringContaining('bind to 192.0.2.77'),
    });
  });
});
