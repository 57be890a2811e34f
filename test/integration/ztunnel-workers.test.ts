// `ambit ztunnel --workers 2`: two worker processes per node share 15008/15001/SOCKS5 through
// SO_REUSEPORT sockets; the primary serves readiness and metrics summed over the workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { startZtunnelMesh, type ZtunnelMesh } from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import { socks5Connect } from '../support/socks5-client.js';
import { until } from '../support/until.js';

const P = '127.0.80';
let mesh: ZtunnelMesh;
let z1: ZtunnelProcess;
let echo: net.Server;

beforeAll(async () => {
  echo = await echoServer(`${P}.12`);
  const ports = { echo: (echo.address() as net.AddressInfo).port, halfClose: 1 };
  mesh = await startZtunnelMesh({
    prefix: P,
    meshYaml: ztunnelMeshYaml(P, ports),
    socks5Port: 15080,
    workers: 2,
  });
  ({ z1 } = mesh);
}, 90_000);

afterAll(async () => {
  await mesh?.stop();
  echo?.close();
}, 30_000);

describe('ztunnel with SO_REUSEPORT workers', () => {
  it('spreads connections over both workers and sums their metrics at the primary', async () => {
    const n = 200;
    const logsBefore = z1.access().length;
    const ok = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const s = await socks5Connect(
          { host: `${P}.2`, port: 15080 },
          { ip: `${P}.12`, port: (echo.address() as net.AddressInfo).port },
          `${P}.11`,
        );
        return new Promise<boolean>((resolve) => {
          let got = '';
          s.on('data', (d: Buffer) => (got += d.toString()));
          s.on('end', () => resolve(got === `w${i}`));
          s.on('error', () => resolve(false));
          // socks5Connect hands the socket over paused (nothing read past the reply is lost)
          s.resume();
          s.end(`w${i}`);
        });
      }),
    );
    expect(ok.filter(Boolean)).toHaveLength(n);
    // Each worker logs a connection when it closes, which may be just after the client saw the end.
    await until(
      `node-1's access log to hold all ${n} connections`,
      () => z1.access().length >= logsBefore + n,
    );
    // Both workers of node-1 served some connections: their access logs carry distinct pids.
    const pids = new Set(z1.access().map((l) => l.pid));
    expect(pids.size).toBe(2);
    const metrics = (await z1.get('/metrics')).body;
    const total = metrics
      .split('\n')
      .filter((l) => l.startsWith('istio_tcp_connections_closed_total{') && l.includes('reporter="source"'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(total).toBe(n);
    const dir = mkdtempSync(path.join(tmpdir(), 'zt-workers-'));
    try {
      writeFileSync(path.join(dir, 'm.prom'), metrics);
      execFileSync('sh', ['-c', `promtool check metrics < ${path.join(dir, 'm.prom')}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await z1.get('/healthz/ready', 15021)).status).toBe(200);
    expect((await z1.get('/config_dump')).body).toContain('node-1');
  }, 60_000);
});
