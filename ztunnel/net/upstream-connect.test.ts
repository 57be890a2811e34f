// connectUpstream from a source address: bound with IP_BIND_ADDRESS_NO_PORT through koffi, then
// connected by Node; SO_LINGER 0 on the connected socket (a destroy() resets the pod, an
// endGracefully() FINs). Real sockets on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { connectUpstream } from './upstream-connect.js';
import { endGracefully } from './abortive-close.js';
import { until } from '../../local-cluster/until.js';

let server: net.Server;
let port: number;
const seen: string[] = [];
/** How each accepted connection ended, by the client's port: 'eof <bytes>' or the error code. */
const endings = new Map<number, string>();

beforeAll(async () => {
  server = net.createServer({ allowHalfOpen: true }, (s) => {
    const from = s.remotePort ?? 0;
    seen.push(`${s.remoteAddress}:${from}`);
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (d.toString() === 'ping') s.end(d);
    });
    s.on('end', () => endings.set(from, `eof ${got}`));
    // the ztunnel resets an upstream it aborts (SO_LINGER 0): the pod reads ECONNRESET
    s.on('error', (e: NodeJS.ErrnoException) => endings.set(from, e.code ?? e.message));
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

  it('an aborted upstream (destroy) resets the pod; endGracefully ends it with a FIN after every byte', async () => {
    const aborted = await connectUpstream({ ip: '127.0.10.50', port }, { localAddress: '127.0.10.51' });
    const ended = await connectUpstream({ ip: '127.0.10.50', port }, { localAddress: '127.0.10.51' });
    const size = 8 * 1024 * 1024;
    ended.write(Buffer.alloc(size, 3));
    endGracefully(ended);
    const a = aborted.localPort ?? 0;
    await until('the pod to accept', () => seen.includes(`127.0.10.51:${a}`), 5_000);
    aborted.destroy();
    const e = ended.localPort ?? 0;
    await until('both endings', () => endings.has(a) && endings.has(e), 10_000);
    expect({ aborted: endings.get(a), ended: endings.get(e) }).toEqual({
      aborted: 'ECONNRESET',
      ended: `eof ${size}`,
    });
    ended.destroy();
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
