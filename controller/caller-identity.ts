// Who is calling, decided once per gRPC call: the operator's admin credential (the state dir's
// join-token) or a scoped token (token-store.ts) as bearer (metadata `authorization: Bearer
// <token>`), a mesh certificate chained to the root (the TLS layer asks for but does not require
// client certificates), or nobody. The chain and validity are checked here again, not only trusted
// from the TLS layer; a certificate issued under a scoped token counts only while that token
// stands (not revoked, not expired).
// In a cluster a JWT bearer is a projected service-account token: call-admission.ts has the API
// server review it before the call proceeds (kube/token-review.ts), and here the cached outcome is
// read synchronously. Certificates issued under such a token record `OU=token:sa:<pod-uid>`; they
// are not checked against the token store (the kubelet rotates the token itself): they stand while
// the mesh state still grants what they were issued for (certificate-authorization.ts: for a node
// certificate its Node exists, for a workload one a pod with that identity is still on that node,
// for a waypoint's the Gateway keeps that identity), as admin-issued ones do. The ztunnel renews its
// node certificate by bootstrapping again with the current token, so that path is reviewed anew.
import { X509Certificate, timingSafeEqual } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { parseSpiffeId, spiffeIdOfCert, type SpiffeId } from '../core/identity/spiffe.js';
import { ADMIN_BINDING, parseBinding, type CertificateBinding } from './certificate-binding.js';
import type { TokenCheck, TokenRecord } from './token-store.js';
import type { ServiceAccountTokenReviewer } from './kube/token-review.js';
import { looksLikeJwt, type ServiceAccountCaller } from './kube/token-review-decision.js';

export type Caller =
  | { kind: 'join-token' }
  | { kind: 'scoped-token'; token: TokenRecord }
  /** A projected service-account token the API server reviewed (in a cluster). */
  | { kind: 'service-account'; account: ServiceAccountCaller }
  | { kind: 'certificate'; id: SpiffeId; binding: CertificateBinding }
  | { kind: 'anonymous'; reason: string };

/** The token store as the caller check needs it. */
export interface TokenAuthority {
  authenticate(presented: string): TokenCheck;
  standing(id: string): TokenCheck;
}

export interface CallerCheck {
  joinToken: string;
  tokens: TokenAuthority;
  root: X509Certificate;
  trustDomain: string;
  /** In a cluster: projected service-account tokens (audience ambit) checked by TokenReview. */
  serviceAccountTokens?: ServiceAccountTokenReviewer | undefined;
}

interface CallWithAuth {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: { raw: Buffer } } | null;
}

/** The binding token of certificates issued under a reviewed service-account token. */
export const SERVICE_ACCOUNT_BINDING_PREFIX = 'sa:';

export function serviceAccountBinding(account: ServiceAccountCaller): string {
  return `${SERVICE_ACCOUNT_BINDING_PREFIX}${account.pod.uid}`;
}

/** The bearer token of the metadata, if it carries one. */
export function bearerOf(metadata: grpc.Metadata): string | undefined {
  const auth = metadata.get('authorization')[0];
  if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) return undefined;
  return auth.slice('Bearer '.length).trim();
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
): { ok: true; id: SpiffeId; binding: CertificateBinding } | { ok: false; reason: string } {
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
  return { ok: true, id, binding: parseBinding(leaf.subject) };
}

/** Who presents this metadata and TLS peer; pure apart from reading the token store. */
export function identifyCaller(
  call: { metadata: grpc.Metadata; getAuthContext: CallWithAuth['getAuthContext'] },
  o: CallerCheck,
): Caller {
  return identifyFrom(call.metadata, call.getAuthContext()?.sslPeerCertificate?.raw, o);
}

export function identifyFrom(metadata: grpc.Metadata, peerDer: Buffer | undefined, o: CallerCheck): Caller {
  const presented = bearerOf(metadata);
  if (presented !== undefined) {
    if (tokenMatches(presented, o.joinToken)) return { kind: 'join-token' };
    if (looksLikeJwt(presented)) {
      if (!o.serviceAccountTokens) {
        return {
          kind: 'anonymous',
          reason:
            'a service-account token (JWT) is accepted only by a controller on the Kubernetes store; this one uses a config directory (give --token-file a token from `ambit token create`)',
        };
      }
      const r = o.serviceAccountTokens.cached(presented);
      if (!r) return { kind: 'anonymous', reason: 'the service-account token has not been reviewed (retry)' };
      return r.ok ? { kind: 'service-account', account: r.caller } : { kind: 'anonymous', reason: r.reason };
    }
    const t = o.tokens.authenticate(presented);
    if (t.ok) return { kind: 'scoped-token', token: t.record };
    return {
      kind: 'anonymous',
      reason: t.reason.includes('not a token of this controller')
        ? `the bearer token is not the join token (${t.reason})`
        : t.reason,
    };
  }
  if (!peerDer) return { kind: 'anonymous', reason: 'no client certificate and no join token' };
  const v = verifyMeshCertificate(peerDer, o.root, o.trustDomain);
  if (!v.ok) return { kind: 'anonymous', reason: v.reason };
  const token = v.binding.token;
  if (token && token !== ADMIN_BINDING && !token.startsWith(SERVICE_ACCOUNT_BINDING_PREFIX)) {
    const standing = o.tokens.standing(token);
    if (!standing.ok) {
      return {
        kind: 'anonymous',
        reason: `${v.id.uri} was issued under a token that no longer stands: ${standing.reason}`,
      };
    }
  }
  return { kind: 'certificate', id: v.id, binding: v.binding };
}
