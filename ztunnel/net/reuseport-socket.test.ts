import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { reusePortListener } from './reuseport-socket.js';

describe('reusePortListener', () => {
  it('lets two servers listen on one address and port, and both get connections', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen({ host: '127.0.10.40', port: 0 }, r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const hits = [0, 0];
    const servers = [0, 1].map((i) =>
      net.createServer((s) => {
        hits[i]!++;
        s.end();
      }),
    );
    for (const s of servers) {
      const fd = reusePortListener('127.0.10.40', port);
      await new Promise<void>((r) => s.listen({ fd, exclusive: true }, r));
    }
    for (let i = 0; i < 60; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = net.connect({ host: '127.0.10.40', port, localPort: 0 }, () => undefined);
        c.on('error', reject);
        c.on('close', () => resolve());
        c.resume();
      });
    }
    expect(hits[0]! + hits[1]!).toBe(60);
    expect(hits[0]).toBeGreaterThan(0);
    expect(hits[1]).toBeGreaterThan(0);
    for (const s of servers) s.close();
  });
});
