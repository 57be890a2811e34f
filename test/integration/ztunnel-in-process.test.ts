import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { echoServer, startTwoNodeMesh, type TwoNodeMesh } from '../support/two-node-mesh.js';
import { socks5Connect, Socks5Refused } from '../support/socks5-client.js';
import { policy } from '../../ztunnel/state/mesh-fixture.js';
import { until } from '../support/until.js';

let m: TwoNodeMesh;
beforeAll(async () => {
  m = await startTwoNodeMesh({ prefix: '127.0.10' });
});
afterAll(async () => m?.stop());

function roundTrip(s: net.Socket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.resume();
    s.end(payload);
  });
}

describe('two in-process ztunnels', () => {
  it('carries bytes through HBONE and back, with half-close', async () => {
    const s = await socks5Connect(m.socks1, { ip: m.serverIp, port: m.serverPort }, m.clientIp);
    const payload = randomBytes(1 << 20);
    const back = await roundTrip(s, payload);
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
  });

  it('goes through a Service VIP and reports Istio TCP metrics at both ends', async () => {
    const s = await socks5Connect(m.socks1, { ip: m.vip, port: 80 }, m.clientIp);
    expect((await roundTrip(s, Buffer.from('hello'))).toString()).toBe('hello');
    const src = await until('the source ztunnel to count the closed connection', async () => {
      const text = await m.z1.metrics.registry.getSingleMetricAsString('istio_tcp_connections_closed_total');
      return text.includes('reporter="source"') ? text : undefined;
    });
    expect(src).toContain('reporter="source"');
    expect(src).toContain('destination_service="echo.default.svc.cluster.local"');
    expect(src).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/server"');
    const dst = await until('the destination ztunnel to count the received bytes', async () => {
      const text = await m.z2.metrics.registry.getSingleMetricAsString('istio_tcp_received_bytes_total');
      return text.includes('reporter="destination"') ? text : undefined;
    });
    expect(dst).toContain('reporter="destination"');
    expect(dst).toContain('source_principal="spiffe://cluster.local/ns/default/sa/client"');
    expect(dst).toContain('connection_security_policy="mutual_tls"');
  });

  it('reuses one pooled mTLS connection for many tunnels', async () => {
    const before = m.z1.pool.connections();
    const socks = await Promise.all(
      Array.from({ length: 20 }, () =>
        socks5Connect(m.socks1, { ip: m.serverIp, port: m.serverPort }, m.clientIp),
      ),
    );
    expect(m.z1.pool.connections()).toBeLessThanOrEqual(Math.max(before, 1));
    await Promise.all(socks.map((s) => roundTrip(s, Buffer.from('x'))));
  });

  it('refuses with DENY when an AuthorizationPolicy denies, and allows again once it is removed', async () => {
    await m.push({
      ...m.state,
      authorizationPolicies: [policy({ name: 'deny-all', action: 'DENY', rules: [{}] })],
    });
    await expect(
      socks5Connect(m.socks1, { ip: m.serverIp, port: m.serverPort }, m.clientIp),
    ).rejects.toBeInstanceOf(Socks5Refused);
    const dst = await m.z2.metrics.registry.getSingleMetricAsString('istio_tcp_connections_opened_total');
    expect(dst).toMatch(/reporter="destination"[^}]*response_flags="DENY"/);
    await m.push(m.state);
    const s = await socks5Connect(m.socks1, { ip: m.serverIp, port: m.serverPort }, m.clientIp);
    expect((await roundTrip(s, Buffer.from('again'))).toString()).toBe('again');
  });

  it('answers a SOCKS5 client that sends its request right behind the greeting (both replies in one write)', async () => {
    const s = net.connect({ host: m.socks1.host, port: m.socks1.port, localAddress: m.clientIp });
    await new Promise((r) => s.once('connect', r));
    const req = Buffer.from([
      5,
      1,
      0,
      5,
      1,
      0,
      1,
      ...m.serverIp.split('.').map(Number),
      m.serverPort >> 8,
      m.serverPort & 0xff,
    ]);
    const got: Buffer[] = [];
    const replied = new Promise<void>((resolve) =>
      s.on('data', (c: Buffer) => {
        got.push(c);
        if (Buffer.concat(got).length >= 12) resolve();
      }),
    );
    s.write(req);
    await replied;
    expect([...Buffer.concat(got).subarray(0, 4)]).toEqual([5, 0, 5, 0]);
    s.destroy();
  });

  it('backpressure: a reader that stops makes the sender wait (bounded buffering), and gets everything once it reads', async () => {
    let received = 0;
    let serverSocket: net.Socket | undefined;
    const slow = net.createServer({ allowHalfOpen: true }, (sock) => {
      serverSocket = sock;
      sock.pause(); // not reading
      sock.on('data', (c: Buffer) => (received += c.length));
    });
    await new Promise<void>((r) => slow.listen({ host: m.serverIp, port: 0 }, r));
    const port = (slow.address() as net.AddressInfo).port;
    const s = await socks5Connect(m.socks1, { ip: m.serverIp, port }, m.clientIp);
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < total / chunk.length; i++) s.write(chunk); // ignore write(): Node queues in the client
    // Wait until the path is full: the client's queue stops shrinking between two looks 200 ms apart.
    let last = -1;
    await until(
      'the client queue to stop draining into the mesh path',
      () => {
        const now = s.writableLength;
        const stalled = now === last;
        last = now;
        return stalled;
      },
      10_000,
      200,
    );
    // The mesh path absorbed at most kernel buffers + h2 windows (4 MiB) + 1 MiB per hop: most is still queued at the client.
    expect(s.writableLength).toBeGreaterThan(total - 24 * 1024 * 1024);
    serverSocket!.resume();
    s.end();
    await until('the server to read all 64 MiB', () => received === total, 20_000);
    expect(received).toBe(total);
    s.destroy();
    slow.close();
  });

  it('capture path (15001): the first bytes ride behind the CONNECT and come back echoed', async () => {
    const s = net.connect({
      host: m.capture1.host,
      port: m.capture1.port,
      localAddress: m.clientIp,
      allowHalfOpen: true,
    });
    const payload = randomBytes(256 * 1024);
    const back = roundTrip(s, payload); // written before the tunnel is up
    expect((await back).equals(payload)).toBe(true);
  });

  it('capture path: a refused tunnel resets the client connection (no clean EOF)', async () => {
    await m.push({
      ...m.state,
      authorizationPolicies: [policy({ name: 'deny-all', action: 'DENY', rules: [{}] })],
    });
    try {
      const s = net.connect({
        host: m.capture1.host,
        port: m.capture1.port,
        localAddress: m.clientIp,
        allowHalfOpen: true,
      });
      const outcome = await new Promise<string>((resolve) => {
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        s.on('end', () => resolve('eof'));
        s.resume();
        s.write('early bytes');
      });
      expect(outcome).toBe('ECONNRESET');
    } finally {
      await m.push(m.state);
    }
  });

  it('refuses an unknown source', async () => {
    await expect(
      socks5Connect(m.socks1, { ip: m.serverIp, port: m.serverPort }, '127.0.10.99'),
    ).rejects.toBeInstanceOf(Socks5Refused);
  });

  it('passes through to destinations outside the mesh', async () => {
    const outside = await echoServer('127.0.10.50');
    const port = (outside.address() as net.AddressInfo).port;
    const direct = await socks5Connect(m.socks1, { ip: '127.0.10.50', port }, m.clientIp);
    expect((await roundTrip(direct, Buffer.from('p'))).toString()).toBe('p');
    outside.close();
  });
});
