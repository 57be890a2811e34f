// The certificate material a ztunnel holds for one identity (core/identity's IssuedCertificate)
// and the node:tls settings built from it, per DESIGN §3.
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';

export type Credential = IssuedCertificate;

/**
 * DESIGN §3: TLS 1.3 only, AES-GCM suites. ALPN and SNI are set per connection/server. Node has no
 * `ciphersuites` option (it was silently ignored, so ChaCha20 was accepted): its `ciphers` takes
 * TLS 1.3 suite names too and sets them with SSL_CTX_set_ciphersuites.
 */
export const HBONE_TLS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384',
} as const;

/** The chain we present: the leaf and any intermediates; the root is the peer's to have. */
export function presentedChain(c: Credential): string {
  const chain = c.certChainPem.length > 1 ? c.certChainPem.slice(0, -1) : c.certChainPem;
  return chain.join('\n');
}

export function secureContextOptions(c: Credential): SecureContextOptions {
  return { key: c.keyPem, cert: presentedChain(c), ca: [c.rootPem], ...HBONE_TLS };
}

export function secureContextOf(c: Credential): SecureContext {
  return createSecureContext(secureContextOptions(c));
}
