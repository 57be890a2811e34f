// The CA through the real gRPC server of a running controller: a node bootstraps its identity with
// the join token, then obtains a workload certificate for a pod on its node, which the real
// `openssl verify` accepts and which carries the SPIFFE URI SAN; identities of pods on other nodes,
// other nodes' identities and anything without the join token are refused with clear errors.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaClient, bootstrapNodeIdentity, bootstrapWaypointIdentity } from '../../core/identity/ca-client.js';
import { DiscoveryClient } from '../../core/discovery/client.js';
import { JOIN_TOKEN_FILE, ROOT_CERT_FILE } from '../../core/identity/controller-endpoint.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { sampleMeshYaml } from '../support/controller-fixtures.js';

const TD = 'cluster.local';
const tmp = mkdtempSync(path.join(tmpdir(), 'ambit-ca-test-'));

describe('controller CA over gRPC', () => {
  let ctl: ControllerHarness;
  let node1: IssuedCertificate;
  let ca: CaClient;

  beforeAll(async () => {
    ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml({ waypoint: true }) } });
    node1 = await bootstrapNodeIdentity({ controller: ctl.address, stateDir: ctl.stateDir, node: 'node-1' });
    ca = new CaClient({ controller: ctl.address, stateDir: ctl.stateDir, credentials: () => node1 });
  }, 60_000);

  afterAll(async () => {
    ca?.close();
    await ctl?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 30_000);

  it('bootstraps the node identity with the join token', () => {
    expect(node1.identity).toBe(`spiffe://${TD}/ambit/node/node-1`);
    expect(node1.certChainPem).toHaveLength(2);
    expect(node1.rootPem).toBe(node1.certChainPem[1]);
  });

  it('signs a workload certificate for a pod on the node that openssl verifies, with the SPIFFE URI SAN', async () => {
    const id = `spiffe://${TD}/ns/shop/sa/cart`;
    const cert = await ca.requestCertificate(id);
    expect(cert.identity).toBe(id);
    const leafFile = path.join(tmp, 'leaf.pem');
    const rootFile = path.join(tmp, 'root.pem');
    writeFileSync(leafFile, cert.certChainPem[0]!);
    writeFileSync(rootFile, cert.certChainPem.at(-1)!);
    const out = execFileSync('openssl', ['verify', '-CAfile', rootFile, leafFile], { encoding: 'utf8' });
    expect(out.trim()).toBe(`${leafFile}: OK`);
    const san = execFileSync('openssl', ['x509', '-in', leafFile, '-noout', '-ext', 'subjectAltName'], {
      encoding: 'utf8',
    });
    expect(san).toContain(`URI:${id}`);
    // the root is the one the controller wrote to the state dir, and the default lifetime is 24 h
    const leaf = new X509Certificate(cert.certChainPem[0]!);
    const hours = (Date.parse(leaf.validTo) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThan(24.1);
  });

  it.each([
    [
      'a pod identity scheduled only on another node',
      `spiffe://${TD}/ns/shop/sa/pay`,
      `node node-1 may not obtain spiffe://${TD}/ns/shop/sa/pay: no pod with service account pay in namespace shop is scheduled on node node-1`,
    ],
    [
      'another node identity',
      `spiffe://${TD}/ambit/node/node-2`,
      `node node-1 may only obtain workload identities (spiffe://${TD}/ns/<ns>/sa/<sa>) of its pods, not spiffe://${TD}/ambit/node/node-2`,
    ],
    [
      'an identity of a foreign trust domain',
      'spiffe://evil.example/ns/shop/sa/cart',
      'node node-1 may only obtain workload identities',
    ],
  ])('refuses %s with PERMISSION_DENIED naming identity and node', async (_d, id, message) => {
    await expect(ca.requestCertificate(id)).rejects.toMatchObject({
      code: 'CA_PERMISSION_DENIED',
      message: expect.stringContaining(message),
    });
  });

  it('refuses to mint a node certificate without the join token', async () => {
    const fake = mkdtempSync(path.join(tmp, 'state-'));
    copyFileSync(path.join(ctl.stateDir, ROOT_CERT_FILE), path.join(fake, ROOT_CERT_FILE));
    writeFileSync(path.join(fake, JOIN_TOKEN_FILE), 'not-the-token\n');
    await expect(
      bootstrapNodeIdentity({ controller: ctl.address, stateDir: fake, node: 'node-1' }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('the bearer token is not the join token'),
    });
  });

  it("gives a waypoint only its own identity (its pods' service account) with the join token", async () => {
    const wp = await bootstrapWaypointIdentity({
      controller: ctl.address,
      stateDir: ctl.stateDir,
      waypoint: 'shop/waypoint',
    });
    expect(wp.identity).toBe(`spiffe://${TD}/ns/shop/sa/waypoint`);
    const wpCa = new CaClient({ controller: ctl.address, stateDir: ctl.stateDir, credentials: () => wp });
    try {
      await expect(wpCa.requestCertificate(`spiffe://${TD}/ns/shop/sa/cart`)).rejects.toMatchObject({
        code: 'CA_PERMISSION_DENIED',
        message: expect.stringContaining(
          `spiffe://${TD}/ns/shop/sa/waypoint may only renew its own identity`,
        ),
      });
      expect((await wpCa.requestCertificate(wp.identity)).identity).toBe(wp.identity);
    } finally {
      wpCa.close();
    }
  });

  it('lets a waypoint subscribe with the identity it bootstraps itself', async () => {
    let workloads = 0;
    const c = new DiscoveryClient({
      controller: ctl.address,
      stateDir: ctl.stateDir,
      subscriber: { kind: 'waypoint', name: 'shop/waypoint' },
      onState: (s) => void (workloads = s.workloads.length),
    });
    try {
      await c.start();
      expect(workloads).toBeGreaterThan(0);
      const status = await ctl.cli(['status']);
      expect(status.stdout).toContain(
        'shop/waypoint: 1/1 instances ready; Accepted=True (Accepted), Programmed=True (Programmed)',
      );
      expect(status.stdout).toMatch(/waypoint shop\/waypoint \[connected\] ACK /);
    } finally {
      await c.close();
    }
  });

  it('refuses a discovery subscription for node-2 presented with node-1 certificate', async () => {
    const c = new DiscoveryClient({
      controller: ctl.address,
      stateDir: ctl.stateDir,
      subscriber: { kind: 'ztunnel', node: 'node-2' },
      credentials: () => node1,
      onState: () => undefined,
    });
    await expect(c.start()).rejects.toMatchObject({
      code: 'DISC_REFUSED',
      message: expect.stringContaining(
        `ztunnel node-2 must present node node-2's identity, not spiffe://${TD}/ambit/node/node-1`,
      ),
    });
    await c.close();
  });
});
