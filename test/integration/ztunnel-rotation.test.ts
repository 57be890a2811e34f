// Certificate rotation under load: the ztunnel asks for short-lived workload certificates
// (--cert-ttl 6m: the CA backdates 5 min, so half-life comes ~30 s after issuance). A transfer
// running across the rotation completes intact, and a connection opened after the rotation is
// made with the new certificate (seen by the conformance server as a new client fingerprint).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { startConformanceServer, type ConformanceServer } from '../support/hbone-conformance-server.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { startNodeZtunnel } from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { socks5Connect } from '../support/socks5-client.js';
import { issue } from '../support/in-process-control-plane.js';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';

const P = '127.0.50';
const SOCKS = 15080;
let ctl: ControllerHarness;
let z1: ZtunnelProcess;
let node3: ConformanceServer;

const extra = `apiVersion: v1
kind: Node
metadata: {name: node-3}
status: {addresses: [{type: InternalIP, address: ${P}.4}]}
---
apiVersion: v1
kind: Pod
metadata: {name: remote, namespace: shop, labels: {app: remote}}
spec: {nodeName: node-3, serviceAccountName: echo, containers: [{name: main, image: app}]}
status: {podIP: ${P}.14, conditions: [{type: Ready, status: "True"}]}
`;

beforeAll(async () => {
  ctl = await startControllerHarness({
    files: { 'mesh.yaml': ztunnelMeshYaml(P, { echo: 1, halfClose: 2 }, extra) },
  });
  const ca = await CertificateAuthority.load(
    'cluster.local',
    readFileSync(path.join(ctl.stateDir, 'ca-cert.pem'), 'utf8'),
    readFileSync(path.join(ctl.stateDir, 'ca-key.pem'), 'utf8'),
  );
  const n3 = await issue(ca, 'spiffe://cluster.local/ambit/node/node-3');
  node3 = await startConformanceServer({
    host: `${P}.4`,
    port: 15008,
    keyPem: n3.keyPem,
    certPem: n3.certChainPem[0]!,
    caPem: ca.rootPem,
  });
  z1 = await startNodeZtunnel(ctl, 1, { prefix: P, socks5Port: SOCKS, extraArgs: ['--cert-ttl', '6m'] });
}, 90_000);

afterAll(async () => {
  await z1?.stop();
  await ctl?.stop();
  await node3?.close();
}, 30_000);

describe('workload certificate rotation', () => {
  it('keeps a 30 s transfer going across the rotation; new connections use the new certificate', async () => {
    const rotated = () =>
      z1.logs.some(
        (l) =>
          String(l.msg ?? '').startsWith('workload certificate rotated') &&
          l.identity === 'spiffe://cluster.local/ns/shop/sa/client',
      );
    const s = await socks5Connect({ host: `${P}.2`, port: SOCKS }, { ip: `${P}.14`, port: 7000 }, `${P}.11`);
    const firstFingerprint = node3.tls.at(-1)!.clientFingerprint;
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let bytesIn = 0;
    let bytesOut = 0;
    const ended = new Promise<void>((resolve, reject) => {
      s.on('data', (c: Buffer) => {
        got.update(c);
        bytesIn += c.length;
      });
      s.on('end', resolve);
      s.on('error', reject);
    });
    s.resume();
    const started = Date.now();
    let rotatedAt: number | undefined;
    // Bounded: at most 60 s; stop 3 s after the rotation, and never before 30 s.
    while (Date.now() - started < 60_000) {
      const b = randomBytes(32 * 1024);
      sent.update(b);
      bytesOut += b.length;
      if (!s.write(b)) await new Promise((r) => s.once('drain', r));
      await new Promise((r) => setTimeout(r, 20)); // pacing: a steady trickle across the rotation
      if (rotatedAt === undefined && rotated()) rotatedAt = Date.now();
      if (rotatedAt !== undefined && Date.now() - rotatedAt > 3_000 && Date.now() - started > 30_000) break;
    }
    expect(rotatedAt).toBeDefined();
    s.end();
    await ended;
    expect(bytesIn).toBe(bytesOut);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    // The long transfer stayed on its connection; a new one gets a new TLS connection and the new certificate.
    const n = node3.tls.length;
    const s2 = await socks5Connect({ host: `${P}.2`, port: SOCKS }, { ip: `${P}.14`, port: 7000 }, `${P}.11`);
    s2.end('x');
    s2.resume();
    expect(node3.tls.length).toBe(n + 1);
    const t = node3.tls.at(-1)!;
    expect(t.clientUriSans).toEqual(['spiffe://cluster.local/ns/shop/sa/client']);
    expect(t.clientFingerprint).not.toBe(firstFingerprint);
  }, 90_000);
});
