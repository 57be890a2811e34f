// The mesh CA's signing core: a root (generated, or loaded from operator-supplied PEM files) that
// issues leaf certificates carrying exactly one SPIFFE URI SAN. Who may obtain which identity is
// decided by the controller's CA service before it calls sign(); this class only signs.
import { randomBytes } from 'node:crypto';
import { x509 } from './x509.js';
import { identityError } from './errors.js';
import { algorithmsFor, generateKey, importKey, type GeneratedKey, type KeyType } from './keys.js';
import { parseCsr } from './csr.js';

export const DEFAULT_WORKLOAD_CERT_TTL_MS = 24 * 3600 * 1000;
export const MAX_WORKLOAD_CERT_TTL_MS = 90 * 24 * 3600 * 1000;
const ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
/** Tolerate clock skew between nodes. */
const BACKDATE_MS = 5 * 60 * 1000;

export class CertificateAuthority {
  private constructor(
    readonly trustDomain: string,
    private readonly key: GeneratedKey,
    readonly root: x509.X509Certificate,
    readonly rootPem: string,
  ) {}

  get keyPem(): string {
    return this.key.privateKeyPem;
  }

  static async generate(
    trustDomain: string,
    keyType: KeyType = 'ec-p256',
    now = new Date(),
  ): Promise<CertificateAuthority> {
    const key = await generateKey(keyType);
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `O=${trustDomain}, CN=Ambit mesh root CA`,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + ROOT_TTL_MS),
      keys: key.keys,
      signingAlgorithm: algorithmsFor(keyType).sign,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
      ],
    });
    return new CertificateAuthority(trustDomain, key, root, root.toString('pem'));
  }

  /** Loads an operator-supplied root; fails with a clear error when the key does not match the certificate. */
  static async load(trustDomain: string, certPem: string, keyPem: string): Promise<CertificateAuthority> {
    let root: x509.X509Certificate;
    let key: GeneratedKey;
    try {
      root = new x509.X509Certificate(certPem);
    } catch (err) {
      throw identityError('CA_BAD_CERT', 'CA certificate is not a PEM X.509 certificate', err);
    }
    try {
      key = await importKey(keyPem);
    } catch (err) {
      throw identityError(
        'CA_BAD_KEY',
        'CA key is not a PEM private key (PKCS#8/SEC1/PKCS#1, EC P-256 or RSA)',
        err,
      );
    }
    const bc = root.getExtension(x509.BasicConstraintsExtension);
    if (bc && !bc.ca) throw identityError('CA_NOT_CA', 'CA certificate has basicConstraints CA:FALSE');
    const probe = Buffer.from('ambit-ca-key-check');
    const { webcrypto } = await import('node:crypto');
    const sig = await webcrypto.subtle.sign(algorithmsFor(key.type).sign, key.keys.privateKey, probe);
    const pub = await root.publicKey.export(algorithmsFor(key.type).generate, ['verify']);
    const ok = await webcrypto.subtle.verify(algorithmsFor(key.type).sign, pub, sig, probe);
    if (!ok) throw identityError('CA_KEY_MISMATCH', 'CA key does not belong to the CA certificate');
    return new CertificateAuthority(trustDomain, key, root, root.toString('pem'));
  }

  /**
   * Signs a CSR for `identity`. The CSR must be validly self-signed and ask for exactly that URI
   * SAN (or none: the identity is then taken from the caller's authorization). The leaf carries
   * only the SPIFFE URI SAN (plus `dnsNames`, used for the controller's own serving certificate),
   * is usable for TLS client and server auth, and expires after ttlMs. `subject` (default
   * `O=<trust domain>`) lets the controller record what the certificate was issued under.
   */
  async sign(
    csrPem: string,
    identity: string,
    ttlMs = DEFAULT_WORKLOAD_CERT_TTL_MS,
    now = new Date(),
    dnsNames: readonly string[] = [],
    subject = `O=${this.trustDomain}`,
  ): Promise<string> {
    let csr;
    try {
      csr = await parseCsr(csrPem);
    } catch (err) {
      throw identityError('CA_BAD_CSR', 'csr is not a PEM PKCS#10 certificate request', err);
    }
    if (!csr.signatureValid) throw identityError('CA_BAD_CSR', 'csr signature does not verify');
    if (csr.uris.length > 1 || (csr.uris.length === 1 && csr.uris[0] !== identity)) {
      throw identityError(
        'CA_IDENTITY_MISMATCH',
        `csr asks for ${csr.uris.join(', ')}, authorized identity is ${identity}`,
      );
    }
    if (!identity.startsWith(`spiffe://${this.trustDomain}/`)) {
      throw identityError(
        'CA_FOREIGN_TRUST_DOMAIN',
        `${identity} is not in trust domain ${this.trustDomain}`,
      );
    }
    const ttl = Math.min(Math.max(ttlMs, 60_000), MAX_WORKLOAD_CERT_TTL_MS);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: this.root.subject,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + ttl),
      publicKey: csr.publicKey,
      signingKey: this.key.keys.privateKey,
      signingAlgorithm: algorithmsFor(this.key.type).sign,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(this.root),
        new x509.SubjectAlternativeNameExtension(
          [{ type: 'url', value: identity }, ...dnsNames.map((d) => ({ type: 'dns' as const, value: d }))],
          true,
        ),
      ],
    });
    return leaf.toString('pem');
  }
}

function randomSerial(): string {
  const b = randomBytes(16);
  b.writeUInt8(b.readUInt8(0) & 0x7f, 0); // positive
  return b.toString('hex');
}
