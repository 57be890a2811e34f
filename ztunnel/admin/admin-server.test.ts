import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ADMIN_MAX_CONNECTIONS,
  ADMIN_REQUEST_TIMEOUT_MS,
  createAdminServer,
  createMetricsServer,
  isLoopbackRequest,
} from './admin-server.js';

describe('isLoopbackRequest', () => {
  const cases: { local: string | undefined; remote: string | undefined; want: boolean }[] = [
    { local: '127.0.0.1', remote: '127.0.0.1', want: true },
    { local: '127.0.30.3', remote: '127.0.30.3', want: true },
    { local: '::1', remote: '::1', want: true },
    { local: '::ffff:127.0.0.1', remote: '::ffff:127.0.0.1', want: true },
    // The node calling its own address: not loopback (a pod can reach that address too).
    { local: '10.0.0.5', remote: '10.0.0.5', want: false },
    { local: '127.0.0.1', remote: '10.0.0.5', want: false },
    { local: '::ffff:10.0.0.5', remote: '::ffff:127.0.0.1', want: false },
    { local: undefined, remote: '127.0.0.1', want: false },
  ];
  for (const c of cases)
    it(`${c.local ?? '?'} <- ${c.remote ?? '?'}: ${c.want}`, () =>
      expect(isLoopbackRequest(c.local, c.remote)).toBe(c.want));
});

/**
 * One request as the server sees it from given socket addresses, without sending traffic to a
 * non-loopback address: the handler reads only the socket's addresses, the URL, writeHead and end.
 */
function requestAs(server: http.Server, path: string, local: string, remote: string): Promise<number> {
  return new Promise((resolve) => {
    let status = 0;
    const req = { url: path, method: 'GET', socket: { localAddress: local, remoteAddress: remote } };
    const res = {
      writeHead(code: number) {
        status = code;
        return res;
      },
      end() {
        resolve(status);
      },
    };
    server.emit('request', req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
}

describe('admin server debug paths', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    server = createAdminServer({
      metrics: () => Promise.resolve({ contentType: 'text/plain', body: 'm 1\n' }),
      configDump: () => ({ node: 'n1' }),
      workloads: () => [],
      ready: () => true,
    });
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  const get = (host: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      http
        .get({ host, port, path, localAddress: host }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });

  it('answers a loopback client', async () => {
    expect(await get('127.0.0.1', '/config_dump')).toBe(200);
    expect(await get('127.0.0.1', '/workloads')).toBe(200);
  });

  it('refuses a client on the node address with 403, while /metrics and readiness answer it', async () => {
    const node = '10.0.0.5'; // the node calling its own address, as a pod could
    expect(await requestAs(server, '/config_dump', node, node)).toBe(403);
    expect(await requestAs(server, '/workloads', node, node)).toBe(403);
    expect(await requestAs(server, '/metrics', node, node)).toBe(200);
    expect(await requestAs(server, '/healthz/ready', node, node)).toBe(200);
    // the same handler answers the debug paths to loopback
    expect(await requestAs(server, '/config_dump', '127.0.0.1', '127.0.0.1')).toBe(200);
  });
});

describe('metrics-only server (the waypoint 15090)', () => {
  it('serves /metrics, 404 elsewhere, 500 naming a failed scrape, and is bounded like the admin server', async () => {
    let fail = false;
    const server = createMetricsServer(() =>
      fail
        ? Promise.reject(new Error('registry broke'))
        : Promise.resolve({ contentType: 'text/plain', body: 'm 1\n' }),
    );
    expect(server.maxConnections).toBe(ADMIN_MAX_CONNECTIONS);
    expect(server.requestTimeout).toBe(ADMIN_REQUEST_TIMEOUT_MS);
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (server.address() as AddressInfo).port;
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    try {
      expect(await get('/metrics')).toStrictEqual({ status: 200, body: 'm 1\n' });
      expect((await get('/config_dump')).status).toBe(404);
      fail = true;
      expect(await get('/metrics')).toStrictEqual({ status: 500, body: 'registry broke' });
    } finally {
      server.close();
    }
  });
});
