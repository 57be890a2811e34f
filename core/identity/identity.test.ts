import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from './certificate-authority.js';
import { createCsr } from './csr.js';
import { generateKey } from './keys.js';
import { nodeIdentity, parseSpiffeId, spiffeIdOfCert, uriSans, workloadIdentity } from './spiffe.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ambit-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('spiffe ids', () => {
  it.each([
    [
      'spiffe://cluster.local/ns/shop/sa/cart',
      { kind: 'workload', namespace: 'shop', serviceAccount: 'cart' },
    ],
    ['spiffe://cluster.local/ambit/node/node-1', { kind: 'node', node: 'node-1' }],
    ['spiffe://cluster.local/ns/shop', undefined],
    ['https://cluster.local/ns/a/sa/b', undefined],
    ['spiffe://Bad_Domain/ns/a/sa/b', undefined],
  ])('parses %s', (uri, want) => {
    const got = parseSpiffeId(uri);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(want);
  });

  it('builds workload and node ids', () => {
    expect(workloadIdentity('td', 'ns1', 'sa1')).toBe('spiffe://td/ns/ns1/sa/sa1');
    expect(nodeIdentity('td', 'n1')).toBe('spiffe://td/ambit/node/n1');
  });

  it('reads URI SANs from node:tls subjectaltname strings', () => {
    expect(uriSans('URI:spiffe://td/ns/a/sa/b, DNS:x')).toEqual(['spiffe://td/ns/a/sa/b']);
    expect(uriSans('DNS:x, URI:"spiffe://td/ns/a,b/sa/c"')).toEqual(['spiffe://td/ns/a,b/sa/c']);
    expect(spiffeIdOfCert('URI:spiffe://a/x, URI:spiffe://a/y')).toBeUndefined();
  });
});

describe.each(['ec-p256', 'rsa-2048'] as const)('certificate authority (%s)', (keyType) => {
  it('signs a CSR into a leaf that openssl verifies, carrying only the SPIFFE URI SAN', async () => {
    const ca = await CertificateAuthority.generate('cluster.local', keyType);
    const key = await generateKey(keyType);
    const id = workloadIdentity('cluster.local', 'shop', 'cart');
    const leafPem = await ca.sign(await createCsr(key, id), id);
    const leaf = new X509Certificate(leafPem);
    expect(leaf.subjectAltName).toBe(`URI:${id}`);
    expect(spiffeIdOfCert(leaf.subjectAltName)).toBe(id);
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(key.privateKeyPem))).toBe(
      true,
    );
    const validDays = (Date.parse(leaf.validTo) - Date.now()) / 86400_000;
    expect(validDays).toBeGreaterThan(0.99);
    expect(validDays).toBeLessThan(1.01);
    writeFileSync(path.join(dir, `root-${keyType}.pem`), ca.rootPem);
    writeFileSync(path.join(dir, `leaf-${keyType}.pem`), leafPem);
    const out = execFileSync('openssl', [
      'verify',
      '-CAfile',
      path.join(dir, `root-${keyType}.pem`),
      path.join(dir, `leaf-${keyType}.pem`),
    ]).toString();
    expect(out).toContain(': OK');
  });

  it('refuses a CSR asking for another identity than the authorized one', async () => {
    const ca = await CertificateAuthority.generate('cluster.local', keyType);
    const key = await generateKey(keyType);
    const csr = await createCsr(key, workloadIdentity('cluster.local', 'shop', 'admin'));
    await expect(ca.sign(csr, workloadIdentity('cluster.local', 'shop', 'cart'))).rejects.toMatchObject({
      code: 'CA_IDENTITY_MISMATCH',
    });
  });

  it('refuses identities of another trust domain', async () => {
    const ca = await CertificateAuthority.generate('cluster.local', keyType);
    const key = await generateKey(keyType);
    const id = workloadIdentity('other.domain', 'a', 'b');
    await expect(ca.sign(await createCsr(key, id), id)).rejects.toMatchObject({
      code: 'CA_FOREIGN_TRUST_DOMAIN',
    });
  });

  it('reloads from its own PEM files and rejects a key of another root', async () => {
    const ca = await CertificateAuthority.generate('cluster.local', keyType);
    const again = await CertificateAuthority.load('cluster.local', ca.rootPem, ca.keyPem);
    expect(again.rootPem).toBe(ca.rootPem);
    const other = await CertificateAuthority.generate('cluster.local', keyType);
    await expect(CertificateAuthority.load('cluster.local', ca.rootPem, other.keyPem)).rejects.toMatchObject({
      code: 'CA_KEY_MISMATCH',
    });
  });
});
