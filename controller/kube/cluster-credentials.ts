// The controller's credentials in a cluster (DESIGN.md §2, issue 10). The CA certificate and key and
// the operator's join token live in the Secret `ambit-ca` (keys ca-cert.pem, ca-key.pem,
// join-token) of the controller's namespace, shared by every replica: read when present, else
// generated (or taken from --ca-cert/--ca-key) and created, and when another replica created it
// first (409 AlreadyExists) theirs is read and used. An operator CA that differs from the one the
// Secret holds is refused, never overwritten. The trust root is published in the ConfigMap
// `ambit-root-cert` (key root-cert.pem) that node pods mount. The state dir still gets
// root-cert.pem and join-token (0600), so `ambit status` works inside the controller pod; the CA
// key is never written to disk here. A request the API server did not answer, or answered 429/5xx,
// is retried with the shared backoff (honouring Retry-After), so a controller starting while the API
// server is busy does not crash-loop; any other refusal (403: RBAC) fails at once, naming the object.
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { describeError } from '../../core/errors.js';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { JOIN_TOKEN_FILE, ROOT_CERT_FILE } from '../../core/identity/controller-endpoint.js';
import { ctlError } from '../errors.js';
import {
  issueServingCertificate,
  readOperatorCa,
  writePrivate,
  type ControllerCredentials,
} from '../state-dir.js';
import { backoffDelay, type BackoffPolicy } from '../../core/policy/exponential-backoff.js';
import { isConflict, isNotFound, KubeApiError, type KubeApi, type KubeRequest } from './kube-api.js';

export const CA_SECRET = 'ambit-ca';
export const CA_SECRET_KEYS = { cert: 'ca-cert.pem', key: 'ca-key.pem', joinToken: 'join-token' } as const;
export const ROOT_CONFIGMAP = 'ambit-root-cert';
export const ROOT_CONFIGMAP_KEY = 'root-cert.pem';
/** Create/update races lost in a row before giving up (each loss means another replica wrote). */
const MAX_ATTEMPTS = 5;
/** Transient API failures: 0.5, 1, 2, 4, 8 s (jittered) before giving up, ~15 s in all. */
export const CREDENTIALS_RETRY: BackoffPolicy & { attempts: number } = {
  initialMs: 500,
  maxMs: 8_000,
  factor: 2,
  attempts: 6,
};

export interface ClusterCredentialsOptions {
  api: KubeApi;
  /** The controller's namespace (POD_NAMESPACE, default ambit-system). */
  namespace: string;
  stateDir: string;
  trustDomain: string;
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
  logger: Logger;
  /** Waits between retries of transient API failures (tests: no real waiting). */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  [k: string]: unknown;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
  [k: string]: unknown;
}

interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
  [k: string]: unknown;
}

const LABELS = { 'app.kubernetes.io/part-of': 'ambit' };

const secretPath = (ns: string, name?: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
const configMapPath = (ns: string, name?: string): string =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps${name ? `/${encodeURIComponent(name)}` : ''}`;

const transientFailure = (err: unknown): err is KubeApiError =>
  err instanceof KubeApiError && (err.status === 0 || err.status === 429 || err.status >= 500);

/** The API with transient failures retried (CREDENTIALS_RETRY); the last failure is thrown. */
function retrying(o: Pick<ClusterCredentialsOptions, 'api' | 'logger' | 'sleep'>): KubeApi {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    server: o.api.server,
    stream: (req) => o.api.stream(req),
    request: async <T>(req: KubeRequest): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await o.api.request<T>(req);
        } catch (err) {
          if (!transientFailure(err) || attempt + 1 >= CREDENTIALS_RETRY.attempts) throw err;
          const ms = err.retryAfterMs ?? backoffDelay(CREDENTIALS_RETRY, attempt, Math.random());
          o.logger.warn(
            { request: `${req.method ?? 'GET'} ${req.path}`, err: err.message, retryInMs: ms },
            'API request failed; retrying',
          );
          await sleep(ms);
        }
      }
    },
  };
}

/** GET that answers undefined on 404; any other failure is a CTL_KUBE_CREDENTIALS error naming the object. */
async function getOptional<T>(api: KubeApi, p: string, what: string): Promise<T | undefined> {
  try {
    return await api.request<T>({ path: p });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw ctlError('CTL_KUBE_CREDENTIALS', `cannot read ${what}: ${describeError(err)}`, err);
  }
}

/** A Secret's value as text (Secret data is base64). */
function secretText(s: SecretObject, key: string): string | undefined {
  const v = s.data?.[key];
  return v ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Whether two PEM certificates are the same certificate (compared as DER, not as text). */
export function sameCertificate(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;
  } catch {
    return false;
  }
}

function describeCert(pem: string): string {
  try {
    const c = new X509Certificate(pem);
    return `${c.subject.replace(/\n/g, ', ')} (SHA-256 ${c.fingerprint256})`;
  } catch {
    return '(a certificate that does not parse)';
  }
}

/** The CA and join token from the Secret, creating the Secret when absent. */
async function caFromSecret(
  o: ClusterCredentialsOptions,
): Promise<{ ca: CertificateAuthority; joinToken: string }> {
  const what = `Secret ${o.namespace}/${CA_SECRET}`;
  const supplied = await readOperatorCa(o);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = await getOptional<SecretObject>(o.api, secretPath(o.namespace, CA_SECRET), what);
    if (existing) {
      const certPem = secretText(existing, CA_SECRET_KEYS.cert);
      const keyPem = secretText(existing, CA_SECRET_KEYS.key);
      if (!certPem || !keyPem) {
        throw ctlError(
          'CTL_KUBE_CREDENTIALS',
          `${what} exists but lacks ${!certPem ? CA_SECRET_KEYS.cert : CA_SECRET_KEYS.key}: it must hold ${CA_SECRET_KEYS.cert} and ${CA_SECRET_KEYS.key} (or delete it to have one generated)`,
        );
      }
      if (supplied && !sameCertificate(supplied.certPem, certPem)) {
        throw ctlError(
          'CTL_KUBE_CREDENTIALS',
          `--ca-cert is ${describeCert(supplied.certPem)} but ${what} holds a different CA, ${describeCert(certPem)}: the mesh has one root, so drop the flags or replace the Secret`,
        );
      }
      let ca: CertificateAuthority;
      try {
        ca = await CertificateAuthority.load(o.trustDomain, certPem, keyPem);
      } catch (err) {
        throw ctlError(
          'CTL_KUBE_CREDENTIALS',
          `${what} does not hold a usable CA: ${describeError(err)}`,
          err,
        );
      }
      const joinToken = secretText(existing, CA_SECRET_KEYS.joinToken)?.trim();
      if (joinToken) return { ca, joinToken };
      // an operator-made Secret with the CA alone: add the join token (a lost race reads theirs)
      const token = newJoinToken();
      try {
        await o.api.request({
          method: 'PUT',
          path: secretPath(o.namespace, CA_SECRET),
          body: { ...existing, data: { ...existing.data, [CA_SECRET_KEYS.joinToken]: b64(`${token}\n`) } },
        });
        o.logger.info({ secret: what }, 'join token added to the CA Secret');
        return { ca, joinToken: token };
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) continue;
        throw ctlError('CTL_KUBE_CREDENTIALS', `cannot update ${what}: ${describeError(err)}`, err);
      }
    }
    const ca = supplied
      ? await CertificateAuthority.load(o.trustDomain, supplied.certPem, supplied.keyPem)
      : await CertificateAuthority.generate(o.trustDomain);
    const joinToken = newJoinToken();
    const secret: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CA_SECRET, namespace: o.namespace, labels: LABELS },
      type: 'Opaque',
      data: {
        [CA_SECRET_KEYS.cert]: b64(ca.rootPem),
        [CA_SECRET_KEYS.key]: b64(ca.keyPem),
        [CA_SECRET_KEYS.joinToken]: b64(`${joinToken}\n`),
      },
    };
    try {
      await o.api.request({ method: 'POST', path: secretPath(o.namespace), body: secret });
      o.logger.info(
        { secret: what, root: describeCert(ca.rootPem), supplied: Boolean(supplied) },
        supplied ? 'CA from --ca-cert/--ca-key stored in its Secret' : 'CA generated into its Secret',
      );
      return { ca, joinToken };
    } catch (err) {
      if (isConflict(err)) {
        o.logger.info({ secret: what }, 'another replica created the CA Secret first: using theirs');
        continue;
      }
      throw ctlError('CTL_KUBE_CREDENTIALS', `cannot create ${what}: ${describeError(err)}`, err);
    }
  }
  throw ctlError(
    'CTL_KUBE_CREDENTIALS',
    `${what} kept changing under ${MAX_ATTEMPTS} attempts to read or write it`,
  );
}

/** Makes the ConfigMap hold this root (create, or update when it holds another). */
export async function publishRoot(
  o: Pick<ClusterCredentialsOptions, 'api' | 'namespace' | 'logger'>,
  rootPem: string,
): Promise<'created' | 'updated' | 'unchanged'> {
  const what = `ConfigMap ${o.namespace}/${ROOT_CONFIGMAP}`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = await getOptional<ConfigMapObject>(
      o.api,
      configMapPath(o.namespace, ROOT_CONFIGMAP),
      what,
    );
    try {
      if (!existing) {
        await o.api.request({
          method: 'POST',
          path: configMapPath(o.namespace),
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CONFIGMAP, namespace: o.namespace, labels: LABELS },
            data: { [ROOT_CONFIGMAP_KEY]: rootPem },
          } satisfies ConfigMapObject,
        });
        o.logger.info({ configMap: what }, 'trust root published');
        return 'created';
      }
      if (existing.data?.[ROOT_CONFIGMAP_KEY] === rootPem) return 'unchanged';
      await o.api.request({
        method: 'PUT',
        path: configMapPath(o.namespace, ROOT_CONFIGMAP),
        body: { ...existing, data: { ...existing.data, [ROOT_CONFIGMAP_KEY]: rootPem } },
      });
      o.logger.warn(
        { configMap: what },
        'trust root updated: node pods mount it with subPath, roll the node DaemonSet to pick it up',
      );
      return 'updated';
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) continue;
      throw ctlError('CTL_KUBE_CREDENTIALS', `cannot write ${what}: ${describeError(err)}`, err);
    }
  }
  throw ctlError('CTL_KUBE_CREDENTIALS', `${what} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
}

function newJoinToken(): string {
  return randomBytes(32).toString('hex');
}

export async function prepareClusterCredentials(
  options: ClusterCredentialsOptions,
): Promise<ControllerCredentials> {
  const o = { ...options, api: retrying(options) };
  const { ca, joinToken } = await caFromSecret(o);
  await publishRoot(o, ca.rootPem);
  try {
    await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(o.stateDir, ROOT_CERT_FILE), ca.rootPem);
    await writePrivate(path.join(o.stateDir, JOIN_TOKEN_FILE), `${joinToken}\n`);
  } catch (err) {
    throw ctlError(
      'CTL_STATE_DIR',
      `cannot write the state dir ${o.stateDir}: ${(err as Error).message}`,
      err,
    );
  }
  return { ca, joinToken, serving: await issueServingCertificate(ca, o.trustDomain) };
}
