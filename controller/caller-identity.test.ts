import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../core/identity/certificate-authority.js';
import { createCsr } from '../core/identity/csr.js';
import { generateKey } from '../core/identity/keys.js';
import { verifyMeshCertificate } from './caller-identity.js';

async function leafDer(ca: CertificateAuthority, id: string, ttlMs = 3600_000): Promise<Buffer> {
  const pem = await ca.sign(await createCsr(await generateKey(), id), id, ttlMs);
  return Buffer.from(new X509Certificate(pem).raw);
}

describe('verifyMeshCertificate', async () => {
  const ca = await CertificateAuthority.generate('cluster.local');
  const other = await CertificateAuthority.generate('cluster.local');
  const root = new X509Certificate(ca.rootPem);
  const id = 'spiffe://cluster.local/ambit/node/n1';

  it.each([
    ['a leaf of the mesh root', () => leafDer(ca, id), Date.now(), `ok ${id}`],
    [
      'a leaf of another root',
      () => leafDer(other, id),
      Date.now(),
      'client certificate is not issued by the mesh root',
    ],
    [
      'an expired leaf',
      () => leafDer(ca, id, 60_000),
      Date.now() + 3600_000,
      'client certificate is not valid now',
    ],
    ['garbage', async () => Buffer.from('nope'), Date.now(), 'client certificate does not parse'],
  ])('%s', async (_d, make, now, want) => {
    const v = verifyMeshCertificate(await make(), root, 'cluster.local', now);
    const got = v.ok ? `ok ${v.id.uri}` : v.reason;
    expect(got.startsWith(want), got).toBe(true);
  });

  it('refuses a leaf of another trust domain signed by the same root', async () => {
    const v = verifyMeshCertificate(await leafDer(ca, id), root, 'other.local');
    expect(v).toEqual({ ok: false, reason: `client identity ${id} is not in trust domain other.local` });
  });
});
