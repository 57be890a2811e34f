// Who is calling, decided once per gRPC call: the join token as bearer (metadata
// `authorization: Bearer <token>`), a mesh certificate chained to the root (the TLS layer asks for
// but does not require client certificates), or nobody. The chain and validity are checked here
// again, not only trusted from the TLS layer.
import { X509Certificate, timingSafeEqual } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { parseSpiffeId, spiffeIdOfCert, type SpiffeId } from '../core/identity/spiffe.js';

export type Caller =
  { kind: 'join-token' } | { kind: 'certificate'; id: SpiffeId } | { kind: 'anonymous'; reason: string };

interface CallWithAuth {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: { raw: Buffer } } | null;
}

function tokenMatches(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Pure check of a presented leaf against the mesh root: signature, validity window, SPIFFE SAN, trust domain. */
export function verifyMeshCertificate(
  leafDer: Buffer,
  root: X509Certificate,
  trustDomain: string,
  now = Date.now(),
): { ok: true; id: SpiffeId } | { ok: false; reason: string } {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafDer);
  } catch {
    return { ok: false, reason: 'client certificate does not parse' };
  }
  if (!leaf.checkIssued(root) || !leaf.verify(root.publicKey)) {
    return { ok: false, reason: 'client certificate is not issued by the mesh root' };
  }
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
    return {
      ok: false,
      reason: `client certificate is not valid now (valid ${leaf.validFrom} - ${leaf.validTo})`,
    };
  }
  const uri = spiffeIdOfCert(leaf.subjectAltName);
  const id = uri ? parseSpiffeId(uri) : undefined;
  if (!id) return { ok: false, reason: 'client certificate carries no mesh SPIFFE identity' };
  if (id.trustDomain !== trustDomain) {
    return { ok: false, reason: `client identity ${id.uri} is not in trust domain ${trustDomain}` };
  }
  return { ok: true, id };
}

export function identifyCaller(
  call: CallWithAuth,
  o: { joinToken: string; root: X509Certificate; trustDomain: string },
): Caller {
  const auth = call.metadata.get('authorization')[0];
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
    return tokenMatches(auth.slice('Bearer '.length).trim(), o.joinToken)
      ? { kind: 'join-token' }
      : { kind: 'anonymous', reason: 'the bearer token is not the join token' };
  }
  const peer = call.getAuthContext()?.sslPeerCertificate;
  if (!peer?.raw) return { kind: 'anonymous', reason: 'no client certificate and no join token' };
  const v = verifyMeshCertificate(peer.raw, o.root, o.trustDomain);
  return v.ok ? { kind: 'certificate', id: v.id } : { kind: 'anonymous', reason: v.reason };
}
