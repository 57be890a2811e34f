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

describe('identifyFrom: tokens and certificate bindings', async () => {
  const { Metadata } = await import('@grpc/grpc-js');
  const { identifyFrom } = await import('./caller-identity.js');
  const { bindingSubject } = await import('./certificate-binding.js');
  const { TokenStore } = await import('./token-store.js');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const ca = await CertificateAuthority.generate('cluster.local');
  const root = new X509Certificate(ca.rootPem);
  const tokens = await TokenStore.open(mkdtempSync(path.join(tmpdir(), 'ambit-caller-')));
  const check = { joinToken: 'j'.repeat(64), tokens, root, trustDomain: 'cluster.local' };
  const bearer = (t: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${t}`);
    return md;
  };
  const bound = async (id: string, subject: string) => {
    const pem = await ca.sign(
      await createCsr(await generateKey(), id),
      id,
      3600_000,
      new Date(),
      [],
      subject,
    );
    return Buffer.from(new X509Certificate(pem).raw);
  };

  it('tells the admin token, a scoped token and a wrong token apart', async () => {
    const { token, record } = await tokens.create({ kind: 'node', node: 'n1' });
    expect(identifyFrom(bearer(check.joinToken), undefined, check)).toEqual({ kind: 'join-token' });
    expect(identifyFrom(bearer(token), undefined, check)).toEqual({ kind: 'scoped-token', token: record });
    expect(identifyFrom(bearer('nope'), undefined, check)).toMatchObject({
      kind: 'anonymous',
      reason: expect.stringContaining('the bearer token is not the join token'),
    });
  });

  it('reads the binding from the subject and drops a certificate whose token was revoked', async () => {
    const { record } = await tokens.create({ kind: 'node', node: 'n1' });
    const node = 'spiffe://cluster.local/ambit/node/n1';
    const wl = 'spiffe://cluster.local/ns/shop/sa/cart';
    const nodeCert = await bound(node, bindingSubject('cluster.local', { token: record.id }));
    const wlCert = await bound(wl, bindingSubject('cluster.local', { token: record.id, node: 'n1' }));
    expect(identifyFrom(new Metadata(), wlCert, check)).toMatchObject({
      kind: 'certificate',
      binding: { token: record.id, node: 'n1' },
    });
    await tokens.revoke(record.id);
    for (const [der, uri] of [
      [nodeCert, node],
      [wlCert, wl],
    ] as const) {
      expect(identifyFrom(new Metadata(), der, check)).toMatchObject({
        kind: 'anonymous',
        reason: expect.stringContaining(
          `${uri} was issued under a token that no longer stands: token ${record.id} was revoked`,
        ),
      });
    }
  });
});
