// The controller's side of the bootstrap contract: in --state-dir it keeps its CA (ca-cert.pem,
// ca-key.pem 0600; unless the operator supplies --ca-cert/--ca-key), writes the trust root
// (root-cert.pem) and the join token (join-token, 0600), and issues its own serving certificate
// (DNS SAN ambit-controller, URI SAN spiffe://<td>/ns/ambit-system/sa/ambit-controller).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CertificateAuthority } from '../core/identity/certificate-authority.js';
import { createCsr } from '../core/identity/csr.js';
import { generateKey } from '../core/identity/keys.js';
import { workloadIdentity } from '../core/identity/spiffe.js';
import {
  CONTROLLER_SERVER_NAME,
  CONTROLLER_SERVICE_ACCOUNT,
  JOIN_TOKEN_FILE,
  ROOT_CERT_FILE,
} from '../core/identity/controller-endpoint.js';
import { ROOT_NAMESPACE } from '../core/model/mesh.js';
import { ctlError } from './errors.js';

export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
const SERVING_CERT_TTL_MS = 90 * 24 * 3600 * 1000;

export interface ControllerCredentials {
  ca: CertificateAuthority;
  joinToken: string;
  /** The controller's own serving certificate. */
  serving: { keyPem: string; certPem: string; identity: string };
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writePrivate(file: string, data: string): Promise<void> {
  await writeFile(file, data, { mode: 0o600 });
  await chmod(file, 0o600); // writeFile's mode only applies to new files
}

/** The operator's --ca-cert/--ca-key PEM texts, when given (both or neither). */
export async function readOperatorCa(o: {
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
}): Promise<{ certPem: string; keyPem: string } | undefined> {
  if (!o.caCertFile && !o.caKeyFile) return undefined;
  if (!o.caCertFile || !o.caKeyFile) {
    throw ctlError('CTL_CA_FILES', '--ca-cert and --ca-key must be given together');
  }
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(o.caCertFile, 'utf8'),
      readFile(o.caKeyFile, 'utf8'),
    ]);
    return { certPem, keyPem };
  } catch (err) {
    throw ctlError('CTL_CA_FILES', `cannot read the CA files: ${(err as Error).message}`, err);
  }
}

async function loadCa(o: {
  stateDir: string;
  trustDomain: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
}): Promise<CertificateAuthority> {
  const supplied = await readOperatorCa(o);
  if (supplied) return CertificateAuthority.load(o.trustDomain, supplied.certPem, supplied.keyPem);
  const certFile = path.join(o.stateDir, CA_CERT_FILE);
  const keyFile = path.join(o.stateDir, CA_KEY_FILE);
  const [cert, key] = await Promise.all([readIfExists(certFile), readIfExists(keyFile)]);
  if (cert && key) return CertificateAuthority.load(o.trustDomain, cert, key);
  const ca = await CertificateAuthority.generate(o.trustDomain);
  await writePrivate(keyFile, ca.keyPem);
  await writeFile(certFile, ca.rootPem);
  return ca;
}

export async function prepareStateDir(o: {
  stateDir: string;
  trustDomain: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
}): Promise<ControllerCredentials> {
  try {
    await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ctlError('CTL_STATE_DIR', `cannot create state dir ${o.stateDir}: ${(err as Error).message}`, err);
  }
  const ca = await loadCa(o);
  await writeFile(path.join(o.stateDir, ROOT_CERT_FILE), ca.rootPem);
  const tokenFile = path.join(o.stateDir, JOIN_TOKEN_FILE);
  let joinToken = (await readIfExists(tokenFile))?.trim();
  if (!joinToken) {
    joinToken = randomBytes(32).toString('hex');
    await writePrivate(tokenFile, `${joinToken}\n`);
  } else await chmod(tokenFile, 0o600);

  return { ca, joinToken, serving: await issueServingCertificate(ca, o.trustDomain) };
}

/** The controller's own serving certificate, signed by its CA (shared with kube/cluster-credentials.ts). */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  trustDomain: string,
): Promise<ControllerCredentials['serving']> {
  const identity = workloadIdentity(trustDomain, ROOT_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT);
  const key = await generateKey();
  const certPem = await ca.sign(await createCsr(key, identity), identity, SERVING_CERT_TTL_MS, new Date(), [
    CONTROLLER_SERVER_NAME,
  ]);
  return { keyPem: key.privateKeyPem, certPem, identity };
}
