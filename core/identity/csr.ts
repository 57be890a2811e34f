// Certificate signing requests for a SPIFFE identity: the URI SAN names the identity, the key never
// leaves the requester. Used by every component that asks the controller's CA for a certificate.
import { x509 } from './x509.js';
import { algorithmsFor, type GeneratedKey } from './keys.js';

export async function createCsr(key: GeneratedKey, identity: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: key.keys,
    signingAlgorithm: algorithmsFor(key.type).sign,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }])],
  });
  return csr.toString('pem');
}

const SUBJECT_ALT_NAME_OID = '2.5.29.17';

export interface ParsedCsr {
  /** URI SANs the CSR asks for. */
  uris: string[];
  publicKey: x509.PublicKey;
  signatureValid: boolean;
}

/** Parses a PEM CSR and checks its self-signature (proof the requester holds the key). */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  const ext = csr.getExtension(SUBJECT_ALT_NAME_OID);
  const san = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData) : undefined;
  const uris = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  return { uris, publicKey: csr.publicKey, signatureValid: await csr.verify() };
}
