// Two real `ambit ztunnel` processes (nodes 127.0.20.2 and 127.0.20.3) against a real
// `ambit controller`: bytes arrive intact (100 MB, sha256), 1,000 concurrent connections all
// complete, half-close works both ways, metrics pass promtool; and when either ztunnel is
// SIGKILLed, a client that had half-closed and waits for its reply, and the pod it waits on, both
// read a reset, never a clean EOF (SO_LINGER 0, and the surviving ztunnel resetting on the dead
// HBONE session).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import {
  halfCloseServer,
  startNodeZtunnel,
  startZtunnelMesh,
  type ZtunnelMesh,
} from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import { socks5Connect } from '../support/socks5-client.js';
import { until } from '../support/until.js';
import { pendingSocketError } from '../../ztunnel/net/abortive-close.js';

const P = '127.0.20';
const SOCKS = 15080;
let mesh: ZtunnelMesh;
let z1: ZtunnelProcess;
let z2: ZtunnelProcess;
let echo: net.Server;
let halfClose: net.Server;
const halfCloseSeen: string[] = [];
/** A pod on node-2 that reads a request to its FIN and never answers (a slow reply in flight). */
let holder: net.Server;
const held = new Set<net.Socket>();
/** ztunnels started again after a SIGKILL, stopped in afterAll. */
const restarted: ZtunnelProcess[] = [];

const holderYaml = (port: number) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: holder, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: holder, namespace: shop, labels: {app: holder}}
spec:
  nodeName: node-2
  serviceAccountName: holder
  containers: [{name: main, image: app, ports: [{name: tcp, containerPort: ${port}}]}]
status:
  podIP: ${P}.14
  conditions: [{type: Ready, status: "True"}]`;

beforeAll(async () => {
  echo = await echoServer(`${P}.12`);
  // Half-close server: says hello and closes its write side at once, then records what it gets.
  halfClose = await halfCloseServer(`${P}.13`, halfCloseSeen);
  holder = net.createServer({ allowHalfOpen: true }, (s) => {
    held.add(s);
    s.on('error', () => undefined);
    s.on('close', () => held.delete(s));
    s.resume();
  });
  await new Promise<void>((r) => holder.listen({ host: `${P}.14`, port: 0 }, r));
  const ports = {
    echo: (echo.address() as net.AddressInfo).port,
    halfClose: (halfClose.address() as net.AddressInfo).port,
  };
  const holderPort = (holder.address() as net.AddressInfo).port;
  mesh = await startZtunnelMesh({
    prefix: P,
    meshYaml: ztunnelMeshYaml(P, ports, holderYaml(holderPort)),
    socks5Port: SOCKS,
  });
  ({ z1, z2 } = mesh);
}, 90_000);

afterAll(async () => {
  await Promise.all(restarted.map((z) => z.stop()));
  await mesh?.stop();
  echo?.close();
  halfClose?.close();
  for (const s of held) s.destroy();
  holder?.close();
}, 30_000);

const socks = () => ({ host: `${P}.2`, port: SOCKS });
const echoAddr = () => ({ ip: `${P}.12`, port: (echo.address() as net.AddressInfo).port });

function collect(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.resume();
  });
}

describe('ztunnel data path (real controller, two ztunnel processes)', () => {
  it('carries 100 MB byte-identical through a tunnel and back (sha256)', async () => {
    const s = await socks5Connect(socks(), echoAddr(), `${P}.11`);
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (c: Buffer) => {
        got.update(c);
        received += c.length;
      });
      s.on('end', resolve);
      s.on('error', reject);
    });
    s.resume();
    const chunk = 1 << 20;
    for (let i = 0; i < 100; i++) {
      const b = randomBytes(chunk);
      sent.update(b);
      if (!s.write(b)) await new Promise((r) => s.once('drain', r));
    }
    s.end();
    await done;
    expect(received).toBe(100 * chunk);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
  });

  it('completes 1,000 concurrent connections', async () => {
    const n = 1000;
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const s = await socks5Connect(socks(), echoAddr(), `${P}.11`);
        const body = collect(s);
        s.end(`conn-${i}`);
        return (await body).toString() === `conn-${i}`;
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(n);
    // 1,000 tunnels at <= 100 streams per connection: at least 10 pooled connections were used.
    const m = await z1.get('/metrics');
    expect(m.body).toMatch(/istio_tcp_connections_closed_total\{[^}]*reporter="source"[^}]*\} (\d+)/);
  });

  it('half-close: client FIN reaches the server and the reply still comes back', async () => {
    const s = await socks5Connect(socks(), echoAddr(), `${P}.11`);
    const body = collect(s);
    s.write('first ');
    s.end('then FIN');
    expect((await body).toString()).toBe('first then FIN');
  });

  it('half-close: server FIN reaches the client, which can still send', async () => {
    const port = (halfClose.address() as net.AddressInfo).port;
    const s = await socks5Connect(socks(), { ip: `${P}.13`, port }, `${P}.11`);
    const body = await collect(s); // server ended its side
    expect(body.toString()).toBe('hello-from-server');
    const before = halfCloseSeen.length;
    s.end('client-after-server-fin');
    await until(
      'the server to read the bytes sent after its FIN',
      () => halfCloseSeen.length > before,
      10_000,
    );
    expect(halfCloseSeen.at(-1)).toBe('client-after-server-fin');
  });

  it('goes through the Service VIP, reports Istio TCP metrics, and /metrics passes promtool', async () => {
    const s = await socks5Connect(socks(), { ip: `${P}.100`, port: 80 }, `${P}.11`);
    const body = collect(s);
    s.end('via-vip');
    expect((await body).toString()).toBe('via-vip');
    // Both ends count the connection when it closes, which may be just after the client saw the end.
    const closedAt = (text: string, reporter: string) =>
      text
        .split('\n')
        .some(
          (l) => l.startsWith('istio_tcp_connections_closed_total{') && l.includes(`reporter="${reporter}"`),
        );
    const src = await until('node-1 to count the closed connection to the Service', async () => {
      const text = (await z1.get('/metrics')).body;
      return closedAt(text, 'source') ? text : undefined;
    });
    const dst = await until('node-2 to count the closed connection to the Service', async () => {
      const text = (await z2.get('/metrics')).body;
      return closedAt(text, 'destination') ? text : undefined;
    });
    expect(src).toContain('destination_service="echo.shop.svc.cluster.local"');
    expect(src).toContain('destination_principal="spiffe://cluster.local/ns/shop/sa/echo"');
    expect(dst).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
    expect(dst).toContain('reporter="destination"');
    expect(src).not.toContain('nodejs_');
    const dir = mkdtempSync(path.join(tmpdir(), 'zt-promtool-'));
    try {
      for (const [name, text] of [
        ['src', src],
        ['dst', dst],
      ] as const) {
        const f = path.join(dir, `${name}.prom`);
        writeFileSync(f, text);
        // exits non-zero (3) on any lint problem; execFileSync throws then
        execFileSync('sh', ['-c', `promtool check metrics < ${f}`]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const access = z1.access().at(-1) as { access: Record<string, unknown> };
    expect(access.access).toMatchObject({ direction: 'outbound', decision: 'hbone' });
    expect((await z1.get('/workloads')).body).toContain('"client"');
    expect((await z1.get('/config_dump')).body).toContain('spiffe://cluster.local/ambit/node/node-1');
  });
});

/** How a socket ended: 'eof' (a FIN), or its error, also one Node read as EOF (SO_ERROR). */
function ending(s: net.Socket): () => string | undefined {
  let end: string | undefined;
  s.on('end', () => {
    const e = pendingSocketError(s);
    end ??= e === 0 ? 'eof' : e === 104 ? 'ECONNRESET' : `errno ${e}`;
  });
  s.on('error', (e: NodeJS.ErrnoException) => (end ??= e.code ?? e.message));
  s.on('close', () => (end ??= 'closed'));
  s.resume();
  return () => end;
}

describe('a ztunnel SIGKILLed under a half-closed connection waiting for its reply', () => {
  // The client sent its request and FIN; the pod read both and has not answered yet.
  const halfClosedRequest = async () => {
    const before = new Set(held);
    const port = (holder.address() as net.AddressInfo).port;
    const client = await socks5Connect(socks(), { ip: `${P}.14`, port }, `${P}.11`);
    const clientEnding = ending(client);
    client.end('request');
    const pod = await until('the pod to read the request and its FIN', () =>
      [...held].find((s) => !before.has(s) && s.readableEnded),
    );
    return { clientEnding, pod };
  };
  // The pod (CLOSE_WAIT after the request's FIN) learns of a reset as EPIPE, of nothing on a FIN.
  const podReset = (pod: net.Socket) =>
    until('the pod to hold the reset', () => (pendingSocketError(pod) === 32 ? 'EPIPE' : undefined), 10_000);

  it.each([
    { killed: 1 as const, what: 'source (node-1, the client side)' },
    { killed: 2 as const, what: 'destination (node-2, the pod side)' },
  ])('$what: the client and the pod both read a reset', async ({ killed }) => {
    const { clientEnding, pod } = await halfClosedRequest();
    const z = killed === 1 ? z1 : z2;
    z.child.kill('SIGKILL');
    await new Promise<void>((r) =>
      z.child.exitCode !== null || z.child.signalCode ? r() : z.child.once('exit', () => r()),
    );
    expect(await until('the client to see the end', clientEnding, 10_000)).toBe('ECONNRESET');
    expect(await podReset(pod)).toBe('EPIPE');
    // back for the next case (and the suite's stop)
    const fresh = await startNodeZtunnel(mesh.ctl, killed, {
      prefix: P,
      ...(killed === 1 ? { socks5Port: SOCKS } : {}),
    });
    restarted.push(fresh);
    if (killed === 1) z1 = fresh;
    else z2 = fresh;
  });
});
