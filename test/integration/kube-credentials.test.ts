// The controller's credentials in a cluster (issue 10 item 2): the CA Secret `ambit-ca` and the
// root ConfigMap `ambit-root-cert` on the stand-in API server. Two controllers starting at once end
// up with one CA; the ConfigMap holds its root; an operator CA is stored when the Secret is absent
// and refused when the Secret holds another; a CA-only Secret gets a join token; a stale ConfigMap
// is updated; two whole controllers share the CA, so either honours the other's certificates.
// Loopback only (it writes the two objects, so it is not pointed at a real cluster).
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapNodeIdentity, CaClient } from '../../core/identity/ca-client.js';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { startController } from '../../controller/controller.js';
import {
  CA_SECRET,
  prepareClusterCredentials,
  ROOT_CONFIGMAP,
  type ClusterCredentialsOptions,
} from '../../controller/kube/cluster-credentials.js';
import { connectKube, type KubeApi, type KubeRequest } from '../../controller/kube/kube-api.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';

const NS = 'ambit-system';
const TD = 'cluster.local';
const logger = pino({ level: 'silent' });

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;
const secretText = (o: KubeObject | undefined, key: string): string | undefined => {
  const v = (o?.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

describe('cluster credentials: Secret ambit-ca and ConfigMap ambit-root-cert', () => {
  let fake: FakeKubeApiServer;
  let dir: string;
  let kubeconfig: string;

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    dir = mkdtempSync(path.join(tmpdir(), 'ambit-kube-creds-'));
    kubeconfig = fake.writeKubeconfig('controller-token', dir);
  });
  afterEach(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (
    name: string,
    extra: Partial<ClusterCredentialsOptions> = {},
  ): ClusterCredentialsOptions => ({
    api: connectKube(kubeconfig),
    namespace: NS,
    stateDir: path.join(dir, name),
    trustDomain: TD,
    logger,
    ...extra,
  });

  it('two controllers starting at once end up with one CA, and the ConfigMap holds its root', async () => {
    // force the race: each replica's create of the Secret waits until both have found it absent and
    // sent theirs, so one create wins and the other gets 409 AlreadyExists
    const held: (() => void)[] = [];
    const racing = (): KubeApi => {
      const api = connectKube(kubeconfig);
      return {
        server: api.server,
        stream: (req) => api.stream(req),
        request: async <T>(req: KubeRequest): Promise<T> => {
          if (req.method === 'POST' && req.path.endsWith('/secrets')) {
            await new Promise<void>((resolve) => {
              held.push(resolve);
              if (held.length === 2) for (const r of held) r();
            });
          }
          return api.request<T>(req);
        },
      };
    };
    const [a, b] = await Promise.all([
      prepareClusterCredentials(options('a', { api: racing() })),
      prepareClusterCredentials(options('b', { api: racing() })),
    ]);
    expect(held).toHaveLength(2);
    expect(fingerprint(a.ca.rootPem)).toBe(fingerprint(b.ca.rootPem));
    expect(a.joinToken).toBe(b.joinToken);
    const secret = fake.get('Secret', NS, CA_SECRET);
    expect(fingerprint(secretText(secret, 'ca-cert.pem') ?? '')).toBe(fingerprint(a.ca.rootPem));
    expect(secretText(secret, 'ca-key.pem')).toBe(a.ca.keyPem);
    expect(secretText(secret, 'join-token')?.trim()).toBe(a.joinToken);
    const cm = fake.get('ConfigMap', NS, ROOT_CONFIGMAP);
    expect((cm?.data as Record<string, string>)['root-cert.pem']).toBe(a.ca.rootPem);
    // `ambit status` inside the pod: the state dir has the root and the join token (0600), not the key
    for (const name of ['a', 'b']) {
      expect(readFileSync(path.join(dir, name, 'root-cert.pem'), 'utf8')).toBe(a.ca.rootPem);
      expect(readFileSync(path.join(dir, name, 'join-token'), 'utf8').trim()).toBe(a.joinToken);
      expect(statSync(path.join(dir, name, 'join-token')).mode & 0o777).toBe(0o600);
      expect(() => statSync(path.join(dir, name, 'ca-key.pem'))).toThrow();
    }
    // both serving certificates chain to that root
    for (const c of [a, b]) {
      expect(new X509Certificate(c.serving.certPem).checkIssued(new X509Certificate(a.ca.rootPem))).toBe(
        true,
      );
    }
    // a restart reads the same CA back
    const again = await prepareClusterCredentials(options('c'));
    expect(fingerprint(again.ca.rootPem)).toBe(fingerprint(a.ca.rootPem));
  });

  it('--ca-cert/--ca-key are stored when the Secret is absent, and refused when it holds another CA', async () => {
    const operator = await CertificateAuthority.generate(TD);
    const certFile = path.join(dir, 'ca.pem');
    const keyFile = path.join(dir, 'ca-key.pem');
    writeFileSync(certFile, operator.rootPem);
    writeFileSync(keyFile, operator.keyPem);
    const first = await prepareClusterCredentials(options('a', { caCertFile: certFile, caKeyFile: keyFile }));
    expect(fingerprint(first.ca.rootPem)).toBe(fingerprint(operator.rootPem));
    expect(fingerprint(secretText(fake.get('Secret', NS, CA_SECRET), 'ca-cert.pem') ?? '')).toBe(
      fingerprint(operator.rootPem),
    );
    // the same files again: accepted
    await prepareClusterCredentials(options('b', { caCertFile: certFile, caKeyFile: keyFile }));
    // another CA: refused, the Secret untouched
    const other = await CertificateAuthority.generate(TD);
    writeFileSync(certFile, other.rootPem);
    writeFileSync(keyFile, other.keyPem);
    await expect(
      prepareClusterCredentials(options('c', { caCertFile: certFile, caKeyFile: keyFile })),
    ).rejects.toThrow(
      new RegExp(
        `--ca-cert is .* but Secret ${NS}/${CA_SECRET} holds a different CA, .*drop the flags or replace the Secret`,
      ),
    );
    expect(fingerprint(secretText(fake.get('Secret', NS, CA_SECRET), 'ca-cert.pem') ?? '')).toBe(
      fingerprint(operator.rootPem),
    );
  });

  it("an operator's Secret with the CA alone gets a join token; a stale ConfigMap is updated", async () => {
    const operator = await CertificateAuthority.generate(TD);
    fake.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CA_SECRET, namespace: NS },
      type: 'Opaque',
      data: {
        'ca-cert.pem': Buffer.from(operator.rootPem).toString('base64'),
        'ca-key.pem': Buffer.from(operator.keyPem).toString('base64'),
      },
    });
    fake.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: ROOT_CONFIGMAP, namespace: NS },
      data: { 'root-cert.pem': 'an old root\n', other: 'kept' },
    });
    const creds = await prepareClusterCredentials(options('a'));
    expect(fingerprint(creds.ca.rootPem)).toBe(fingerprint(operator.rootPem));
    expect(creds.joinToken).toMatch(/^[0-9a-f]{64}$/);
    expect(secretText(fake.get('Secret', NS, CA_SECRET), 'join-token')?.trim()).toBe(creds.joinToken);
    expect(fake.get('ConfigMap', NS, ROOT_CONFIGMAP)?.data).toEqual({
      'root-cert.pem': operator.rootPem,
      other: 'kept',
    });
  });

  it('a Secret without the CA key is refused, naming what is missing', async () => {
    fake.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CA_SECRET, namespace: NS },
      data: { 'ca-cert.pem': Buffer.from('x').toString('base64') },
    });
    await expect(prepareClusterCredentials(options('a'))).rejects.toThrow(
      `Secret ${NS}/${CA_SECRET} exists but lacks ca-key.pem`,
    );
  });

  it('a busy API server (5xx, 429 with Retry-After) is retried, not a crash', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    fake.failNext(2, 503);
    fake.throttle(1, 3);
    const creds = await prepareClusterCredentials(options('a', { sleep }));
    expect(fake.get('Secret', NS, CA_SECRET)).toBeDefined();
    expect(creds.joinToken).toMatch(/^[0-9a-f]{64}$/);
    // the 429's Retry-After (3 s) is honoured; the 503s wait the backoff's first steps
    expect(waits).toHaveLength(3);
    expect(waits).toContain(3_000);
  });

  it('an API server that refuses names the object', async () => {
    fake.failNext(1, 403);
    await expect(prepareClusterCredentials(options('a'))).rejects.toMatchObject({
      code: 'CTL_KUBE_CREDENTIALS',
      message: expect.stringContaining(`cannot read Secret ${NS}/${CA_SECRET}`),
    });
  });

  it('two whole controllers (startController) share one CA: a node certificate from one is honoured by the other', async () => {
    fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    fake.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1' },
      status: { addresses: [{ type: 'InternalIP', address: '192.168.50.1' }] },
    });
    const start = (name: string) =>
      startController({
        kubeconfig,
        listen: '127.0.0.1:0',
        stateDir: path.join(dir, name),
        trustDomain: TD,
        logger,
        env: { POD_NAMESPACE: NS, POD_NAME: name },
      });
    const started = await Promise.allSettled([start('replica-a'), start('replica-b')]);
    const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(started.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      const [a, b] = running;
      if (!a || !b) throw new Error('both replicas must start');
      const rootA = readFileSync(path.join(dir, 'replica-a', 'root-cert.pem'), 'utf8');
      expect(fingerprint(readFileSync(path.join(dir, 'replica-b', 'root-cert.pem'), 'utf8'))).toBe(
        fingerprint(rootA),
      );
      expect(
        (fake.get('ConfigMap', NS, ROOT_CONFIGMAP)?.data as Record<string, string>)['root-cert.pem'],
      ).toBe(rootA);
      // the join token of either state dir bootstraps node-1 at replica a; replica b renews it
      const nodeCert = await bootstrapNodeIdentity({
        controller: a.address,
        stateDir: path.join(dir, 'replica-b'),
        node: 'node-1',
      });
      const client = new CaClient({
        controller: b.address,
        stateDir: path.join(dir, 'replica-b'),
        credentials: () => nodeCert,
      });
      try {
        expect((await client.requestCertificate(nodeCert.identity)).identity).toBe(
          `spiffe://${TD}/ambit/node/node-1`,
        );
      } finally {
        client.close();
      }
    } finally {
      await Promise.all(running.map((c) => c.close()));
    }
  });
});
