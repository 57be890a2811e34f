// A certificate the mesh CA issued, with its private key: what a component presents in mTLS.
import { X509Certificate } from 'node:crypto';
import { identityError } from './errors.js';
import { spiffeIdOfCert } from './spiffe.js';

export interface IssuedCertificate {
  identity: string;
  /** PKCS#8 PEM */
  keyPem: string;
  /** leaf first, root last */
  certChainPem: string[];
  rootPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** Builds an IssuedCertificate from a CA response chain (leaf first, root last) and the requester's key. */
export function issuedCertificateFromChain(keyPem: string, chain: string[]): IssuedCertificate {
  const leafPem = chain.at(0);
  const rootPem = chain.at(-1);
  if (leafPem === undefined || rootPem === undefined)
    throw identityError('CA_BAD_RESPONSE', 'empty certificate chain');
  const leaf = new X509Certificate(leafPem);
  const identity = spiffeIdOfCert(leaf.subjectAltName);
  if (!identity)
    throw identityError('CA_BAD_RESPONSE', 'issued certificate carries no single SPIFFE URI SAN');
  return {
    identity,
    keyPem,
    certChainPem: chain,
    rootPem,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
  };
}
