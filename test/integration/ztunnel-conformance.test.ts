// Wire conformance with DESIGN §3, both directions, against two real `ambit ztunnel` processes
// and a real controller. The peer is test/support/hbone-conformance-{client,server}.ts, written
// from the design text only. Also: TLS refusals at 15008 checked with the real openssl s_client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { startConformanceServer, type ConformanceServer } from '../support/hbone-conformance-server.js';
import { connectConformanceClient, readAll } from '../support/hbone-conformance-client.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { halfCloseServer, startZtunnelPair, type ZtunnelPair } from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import { socks5Connect, Socks5Refused } from '../support/socks5-client.js';
import { issue } from '../support/in-process-control-plane.js';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { until } from '../support/until.js';

const P = '127.0.30';
const SOCKS = 15080;
const REMOTE_PORT = 7000;
let ctl: ControllerHarness;
let pair: ZtunnelPair;
let z1: ZtunnelProcess;
let z2: ZtunnelProcess;
let echo: net.Server;
let halfClose: net.Server;
let node3: ConformanceServer;
let impostor: ConformanceServer;
let ca: CertificateAuthority;
let clientCert: IssuedCertificate;
let blockedCert: IssuedCertificate;
let dir: string;
const seenByHalfClose: string[] = [];

const extraYaml = (p: string) => `apiVersion: v1
kind: Node
metadata: {name: node-3}
status: {addresses: [{type: InternalIP, address: ${p}.4}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-4}
status: {addresses: [{type: InternalIP, address: ${p}.5}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: remote, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: remote, namespace: shop, labels: {app: remote}}
spec: {nodeName: node-3, serviceAccountName: remote, containers: [{name: main, image: app}]}
status: {podIP: ${p}.14, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: impostor, namespace: shop, labels: {app: impostor}}
spec: {nodeName: node-4, serviceAccountName: remote, containers: [{name: main, image: app}]}
status: {podIP: ${p}.15, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: remote, namespace: shop}
spec:
  selector: {app: remote}
  clusterIP: ${p}.101
  ports: [{name: tcp, port: 80, targetPort: ${REMOTE_PORT}}]
---
apiVersion: security.ambit.dev/v1
kind: AuthorizationPolicy
metadata: {name: block-blocked, namespace: shop}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/blocked"]}}]}]
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'zt-conf-'));
  echo = await echoServer(`${P}.12`);
  halfClose = await halfCloseServer(`${P}.13`, seenByHalfClose);
  const ports = {
    echo: (echo.address() as net.AddressInfo).port,
    halfClose: (halfClose.address() as net.AddressInfo).port,
  };
  ctl = await startControllerHarness({ files: { 'mesh.yaml': ztunnelMeshYaml(P, ports, extraYaml(P)) } });
  ca = await CertificateAuthority.load(
    'cluster.local',
    readFileSync(path.join(ctl.stateDir, 'ca-cert.pem'), 'utf8'),
    readFileSync(path.join(ctl.stateDir, 'ca-key.pem'), 'utf8'),
  );
  clientCert = await issue(ca, 'spiffe://cluster.local/ns/shop/sa/client');
  blockedCert = await issue(ca, 'spiffe://cluster.local/ns/shop/sa/blocked');
  const node3Cert = await issue(ca, 'spiffe://cluster.local/ambit/node/node-3');
  node3 = await startConformanceServer({
    host: `${P}.4`,
    port: 15008,
    keyPem: node3Cert.keyPem,
    certPem: node3Cert.certChainPem[0]!,
    caPem: ca.rootPem,
  });
  // node-4's "ztunnel" presents node-3's identity: the ztunnel must refuse it.
  impostor = await startConformanceServer({
    host: `${P}.5`,
    port: 15008,
    keyPem: node3Cert.keyPem,
    certPem: node3Cert.certChainPem[0]!,
    caPem: ca.rootPem,
  });
  pair = await startZtunnelPair(ctl, { prefix: P, socks5Port: SOCKS });
  ({ z1, z2 } = pair);
}, 90_000);

afterAll(async () => {
  await pair?.stop();
  await ctl?.stop();
  echo?.close();
  halfClose?.close();
  await node3?.close();
  await impostor?.close();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const socks = () => ({ host: `${P}.2`, port: SOCKS });

function collect(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.resume();
  });
}

describe('ztunnel as HBONE client, checked by the conformance server', () => {
  it('speaks TLS 1.3, ALPN h2, AES-GCM, no SNI, with the source pod certificate, and the §3 request', async () => {
    const s = await socks5Connect(socks(), { ip: `${P}.14`, port: REMOTE_PORT }, `${P}.11`);
    const body = collect(s);
    s.end('ping');
    expect(await body).toBe('ping');
    const t = node3.tls.at(-1)!;
    expect(t).toMatchObject({ servername: false, protocol: 'TLSv1.3', alpn: 'h2' });
    expect(t.cipher).toMatch(/^TLS_AES_(128|256)_GCM_SHA(256|384)$/);
    expect(t.clientUriSans).toEqual(['spiffe://cluster.local/ns/shop/sa/client']);
    const h = node3.requests.at(-1)!.headers;
    expect(h[':method']).toBe('CONNECT');
    expect(h[':authority']).toBe(`${P}.14:${REMOTE_PORT}`);
    expect(h[':path']).toBeUndefined();
    expect(h[':scheme']).toBeUndefined();
    expect(h.forwarded).toMatch(new RegExp(`^for="${P.replace(/\./g, '\\.')}\\.11:\\d+"$`));
    expect(h.traceparent).toHaveLength(55);
    expect(h.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
    const bag = String(h.baggage);
    expect(bag).toContain('k8s.namespace.name=shop');
    expect(bag).toMatch(/k8s\.[a-z]+\.name=client/);
    expect(bag).toContain('service.name=');
    expect(bag).toContain('service.version=');
  });

  it('adds ;host=<service hostname> when a Service was the target', async () => {
    const s = await socks5Connect(socks(), { ip: `${P}.101`, port: 80 }, `${P}.11`);
    const body = collect(s);
    s.end('svc');
    expect(await body).toBe('svc');
    const h = node3.requests.at(-1)!.headers;
    expect(h[':authority']).toBe(`${P}.14:${REMOTE_PORT}`);
    expect(h.forwarded).toMatch(/;host=remote\.shop\.svc\.cluster\.local$/);
  });

  it('maps the client FIN to END_STREAM and the server END_STREAM back to FIN', async () => {
    const before = node3.halfClosed.length;
    const s = await socks5Connect(socks(), { ip: `${P}.14`, port: REMOTE_PORT }, `${P}.11`);
    const body = collect(s);
    s.write('half-');
    s.end('closed');
    expect(await body).toBe('half-closed');
    expect(node3.halfClosed.slice(before).map((x) => x.received)).toContain('half-closed');
  });

  it('opens a second TLS connection for the 101st concurrent stream', async () => {
    const start = node3.requests.length;
    const sockets = await Promise.all(
      Array.from({ length: 101 }, () =>
        socks5Connect(socks(), { ip: `${P}.14`, port: REMOTE_PORT }, `${P}.11`),
      ),
    );
    const reqs = node3.requests.slice(start);
    expect(reqs).toHaveLength(101);
    const perSession = new Map<number, number>();
    for (const r of reqs) perSession.set(r.sessionIndex, (perSession.get(r.sessionIndex) ?? 0) + 1);
    expect(perSession.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...perSession.values())).toBeLessThanOrEqual(100);
    await Promise.all(
      sockets.map((s) => {
        const b = collect(s);
        s.end('x');
        return b;
      }),
    );
  });

  it('refuses a server presenting another identity than discovery says (TLS_FAILURE)', async () => {
    await expect(
      socks5Connect(socks(), { ip: `${P}.15`, port: REMOTE_PORT }, `${P}.11`),
    ).rejects.toBeInstanceOf(Socks5Refused);
    expect(impostor.requests).toHaveLength(0);
    const m = (await z1.get('/metrics')).body;
    expect(m).toMatch(/istio_tcp_connections_opened_total\{[^}]*response_flags="TLS_FAILURE"/);
  });
});

describe('ztunnel as HBONE server, checked by the conformance client', () => {
  const connect = (cert: IssuedCertificate) =>
    connectConformanceClient({
      host: `${P}.3`,
      port: 15008,
      keyPem: cert.keyPem,
      certPem: cert.certChainPem[0]!,
      caPem: ca.rootPem,
      expectServer: 'spiffe://cluster.local/ambit/node/node-2',
    });
  const echoAuthority = () => `${P}.12:${(echo.address() as net.AddressInfo).port}`;
  const hdrs = (authority: string) => ({
    ':method': 'CONNECT',
    ':authority': authority,
    forwarded: `for="${P}.11:40000"`,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    baggage: 'k8s.namespace.name=shop,k8s.pod.name=client,service.name=client,service.version=v1',
  });

  it('presents the node identity over TLS 1.3 + h2, answers 200 and carries bytes with half-close', async () => {
    const c = await connect(clientCert);
    expect(c.serverUriSans).toEqual(['spiffe://cluster.local/ambit/node/node-2']);
    expect(c.protocol).toBe('TLSv1.3');
    expect(c.alpn).toBe('h2');
    const { status, stream } = await c.request(hdrs(echoAuthority()));
    expect(status).toBe(200);
    const back = readAll(stream);
    stream.write('over ');
    stream.end('hbone'); // END_STREAM: the pod sees FIN, echoes, closes; we see END_STREAM
    expect(await back).toBe('over hbone');
    c.close();
  });

  it('maps the pod FIN to END_STREAM and still carries the client bytes after it', async () => {
    const c = await connect(clientCert);
    const { status, stream } = await c.request(
      hdrs(`${P}.13:${(halfClose.address() as net.AddressInfo).port}`),
    );
    expect(status).toBe(200);
    expect(await readAll(stream)).toBe('hello-from-server');
    const before = seenByHalfClose.length;
    stream.end('after-fin');
    await until(
      'the pod to read the bytes sent after its FIN',
      () => seenByHalfClose.length > before,
      10_000,
    );
    expect(seenByHalfClose.at(-1)).toBe('after-fin');
    c.close();
  });

  it.each([
    [
      '400 for a method other than CONNECT',
      { ':method': 'GET', ':path': '/', ':scheme': 'https', ':authority': 'x' },
      400,
    ],
    ['400 for an authority that is not ip:port', { ':method': 'CONNECT', ':authority': 'echo.shop:80' }, 400],
    ['503 for an unknown destination', { ':method': 'CONNECT', ':authority': `${P}.99:80` }, 503],
  ])('%s', async (_name, headers, want) => {
    const c = await connect(clientCert);
    expect((await c.request(headers as Record<string, string>)).status).toBe(want);
    c.close();
  });

  it('503 when the upstream pod does not accept', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen({ host: `${P}.12`, port: 0 }, r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = await connect(clientCert);
    expect((await c.request(hdrs(`${P}.12:${closedPort}`))).status).toBe(503);
    c.close();
  });

  it('401 when an AuthorizationPolicy denies the peer identity', async () => {
    const c = await connect(blockedCert);
    expect((await c.request(hdrs(echoAuthority()))).status).toBe(401);
    c.close();
  });
});

function sClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `${P}.3:15008`, '-tls1_3', '-alpn', 'h2', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Keep stdin open briefly so a post-handshake alert from the server is read and printed.
    setTimeout(() => p.stdin.end(), 1_500);
    const kill = setTimeout(() => p.kill('SIGKILL'), 8_000);
    p.on('close', () => {
      clearTimeout(kill);
      resolve(out);
    });
  });
}

describe('15008 refuses bad client certificates (openssl s_client)', () => {
  const files = async (name: string, cert: IssuedCertificate, root: string) => {
    const c = path.join(dir, `${name}.crt`);
    const k = path.join(dir, `${name}.key`);
    writeFileSync(c, cert.certChainPem[0]!);
    writeFileSync(k, cert.keyPem);
    writeFileSync(path.join(dir, 'root.pem'), root);
    return ['-CAfile', path.join(dir, 'root.pem'), '-cert', c, '-key', k];
  };

  it('accepts a valid mesh certificate (control)', async () => {
    const out = await sClient(await files('valid', clientCert, ca.rootPem));
    expect(out).toContain('ALPN protocol: h2');
    expect(out).toContain('Verify return code: 0');
    expect(out).not.toMatch(/alert|unexpected eof/i);
  });

  it('refuses a client without a certificate', async () => {
    writeFileSync(path.join(dir, 'root.pem'), ca.rootPem);
    const out = await sClient(['-CAfile', path.join(dir, 'root.pem')]);
    expect(out).toMatch(/alert certificate required|alert number 116/i);
  });

  it('refuses a certificate from another CA', async () => {
    const other = await CertificateAuthority.generate('cluster.local');
    const cert = await issue(other, 'spiffe://cluster.local/ns/shop/sa/client');
    const out = await sClient(await files('foreign', cert, ca.rootPem));
    // Node verifies the chain right after the handshake and closes without an alert.
    expect(out).toMatch(/alert unknown ca|alert number 48|unexpected eof/i);
    expect(out).toMatch(/unable to get local issuer|verify error|unexpected eof/i);
  });

  it('refuses an expired certificate', async () => {
    const cert = await issue(
      ca,
      'spiffe://cluster.local/ns/shop/sa/client',
      60_000,
      new Date(Date.now() - 3_600_000),
    );
    const out = await sClient(await files('expired', cert, ca.rootPem));
    expect(out).toMatch(/alert certificate expired|alert number 45|unexpected eof/i);
  });

  it('refuses a certificate of another trust domain signed by the mesh root', async () => {
    const foreignTd = await CertificateAuthority.load(
      'other.domain',
      readFileSync(path.join(ctl.stateDir, 'ca-cert.pem'), 'utf8'),
      readFileSync(path.join(ctl.stateDir, 'ca-key.pem'), 'utf8'),
    );
    const cert = await issue(foreignTd, 'spiffe://other.domain/ns/shop/sa/client');
    // From its own address: refusals are logged once per peer address per minute, and the tests
    // above were refused from the default source address.
    const from = `${P}.77`;
    const out = await sClient(['-bind', `${from}:0`, ...(await files('td', cert, ca.rootPem))]);
    // The handshake verifies (same root); the server then drops the connection before any h2.
    expect(out).toMatch(/unexpected eof/i);
    // The ztunnel's log line reaches us through its stdout pipe, maybe after s_client has exited.
    const refusedLine = () =>
      z2.logs.find(
        (l) =>
          String(l.msg ?? '').includes('refused at TLS') && String(l.reason ?? '').includes('other.domain'),
      );
    const line = await until('the refused-at-TLS log line', refusedLine, 5_000);
    expect(line).toMatchObject({
      level: 40, // pino's warn
      msg: 'HBONE client refused at TLS',
      reason: 'peer identity spiffe://other.domain/ns/shop/sa/client is not of trust domain cluster.local',
      peer: from,
    });
  });
});
