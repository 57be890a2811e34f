// Node and waypoint bootstrap by projected service-account token (issue 10 item 2, acceptance).
// A whole controller runs in-process (startController with a kubeconfig): its Kubernetes store
// watches the stand-in API server, which holds the sample manifests (two nodes, pods of shop on
// each, a waypoint) plus the node DaemonSet's pods in ambit-system; its CA comes from the Secret
// there; its ServiceAccountTokenReviewer asks that server's TokenReview, which
// kube-token-review.test-helper.ts answers like the real authenticator from tokens minted here (the
// controller never decodes them to decide). The clients are the real ones (core/identity/ca-client.ts
// and the discovery client) reading --token-file and the state dir's root-cert.pem, so every call
// goes through the real call admission and CA gRPC service.
// Loopback only; not run against a real cluster (minting tokens there needs the TokenRequest API
// and pods bound to real nodes).
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryClient } from '../../core/discovery/client.js';
import { bootstrapNodeIdentity, bootstrapWaypointIdentity, CaClient } from '../../core/identity/ca-client.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { parseAllDocuments } from 'yaml';
import { startController, type RunningController } from '../../controller/controller.js';
import { FakeKubeApiServer, type KubeObject } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';
import { sampleMeshYaml } from '../support/controller-fixtures.js';
import { FakeTokenIssuer, type MintOptions } from './kube-token-review.test-helper.js';

const NS = 'ambit-system';
const TD = 'cluster.local';
const logger = pino({ level: process.env.AMBIT_TEST_LOG ?? 'silent' });

/** The grpc status and details of a refused client call (ca-client wraps the ServiceError as cause). */
function refusal(err: unknown): { code: number | undefined; details: string } {
  const cause = (err as { cause?: grpc.ServiceError }).cause;
  return { code: cause?.code, details: cause?.details ?? (err as Error).message };
}

async function refused(p: Promise<unknown>): Promise<{ code: number | undefined; details: string }> {
  try {
    await p;
  } catch (err) {
    return refusal(err);
  }
  throw new Error('expected the call to be refused');
}

describe('TokenReview bootstrap through the CA gRPC service', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ambit-kube-tr-'));
  const stateDir = path.join(dir, 'state');
  const fake = new FakeKubeApiServer();
  const issuer = new FakeTokenIssuer();
  let controller: RunningController | undefined;
  let address = '';
  const pods: Record<string, { name: string; uid: string }> = {};

  beforeAll(async () => {
    await fake.start();
    issuer.install(fake);
    fake.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    fake.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ambit-node', namespace: NS } });
    for (const doc of parseAllDocuments(sampleMeshYaml({ waypoint: true }))) {
      fake.apply(doc.toJS() as KubeObject);
    }
    const applyPod = (name: string, node: string) => {
      const p = fake.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: { app: 'ambit-node', 'ambit.dev/dataplane-mode': 'none' } },
        spec: {
          nodeName: node,
          serviceAccountName: 'ambit-node',
          hostNetwork: true,
          containers: [{ name: 'main', image: 'ambit' }],
        },
      });
      pods[name] = { name, uid: p.metadata.uid ?? '' };
    };
    applyPod('ambit-node-a', 'node-1');
    applyPod('ambit-node-b', 'node-2');
    for (const name of ['waypoint-1', 'cart-1']) {
      pods[name] = { name, uid: fake.get('Pod', 'shop', name)?.metadata.uid ?? '' };
    }
    controller = await startController({
      kubeconfig: fake.writeKubeconfig('controller-token', dir),
      listen: '127.0.0.1:0',
      stateDir,
      trustDomain: TD,
      logger,
      env: { POD_NAMESPACE: NS, POD_NAME: 'ambit-controller-0' },
    });
    const running = controller;
    await until(
      'the controller to see the sample mesh and the node pods',
      () =>
        running.current().state.waypoints[0]?.identity !== undefined &&
        running.current().state.workloads.some((w) => w.name === 'ambit-node-b'),
      20_000,
    );
    address = controller.address;
  });

  afterAll(async () => {
    await controller?.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  const tokenFile = (o: MintOptions): string => {
    const f = path.join(dir, `token-${(n += 1)}`);
    writeFileSync(f, `${issuer.mint(o)}\n`);
    return f;
  };
  const nodeToken = (pod = 'ambit-node-a', extra: Partial<MintOptions> = {}) =>
    tokenFile({ namespace: NS, serviceAccount: 'ambit-node', pod: pods[pod], ...extra });
  const node = (file: string, nodeName = 'node-1') =>
    bootstrapNodeIdentity({ controller: address, stateDir, tokenFile: file, node: nodeName });
  const workloadOf = (sa: string) => `spiffe://${TD}/ns/shop/sa/${sa}`;

  let nodeA: IssuedCertificate | undefined;

  it("a token bound to a pod on node-1 obtains node-1's identity and the identities of node-1's pods", async () => {
    nodeA = await node(nodeToken());
    expect(nodeA.identity).toBe(`spiffe://${TD}/ambit/node/node-1`);
    // issued under the token's pod: renewals are checked against the mesh state, not the token store
    const leaf = new X509Certificate(nodeA.certChainPem[0] ?? '');
    expect(leaf.subject).toContain(`OU=token:sa:${pods['ambit-node-a']?.uid}`);
    const cert = nodeA;
    const client = new CaClient({ controller: address, stateDir, credentials: () => cert });
    try {
      // cart-1 and web-1 run on node-1 (test/support/controller-fixtures.ts)
      expect((await client.requestCertificate(workloadOf('cart'))).identity).toBe(workloadOf('cart'));
      expect((await client.requestCertificate(workloadOf('web'))).identity).toBe(workloadOf('web'));
      // and the node certificate renews itself
      expect((await client.requestCertificate(cert.identity)).identity).toBe(cert.identity);
    } finally {
      client.close();
    }
  });

  it("it cannot obtain node-2's identity nor node-2's pods' identities", async () => {
    const other = await refused(node(nodeToken(), 'node-2'));
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.details).toContain(
      `the token of service account ${NS}/ambit-node (pod ${NS}/ambit-node-a) is bound to node node-1, not to node node-2`,
    );
    const cert = nodeA ?? (await node(nodeToken()));
    const client = new CaClient({ controller: address, stateDir, credentials: () => cert });
    try {
      // pay-1 runs only on node-2
      const pay = await refused(client.requestCertificate(workloadOf('pay')));
      expect(pay.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(pay.details).toContain(
        `node node-1 may not obtain ${workloadOf('pay')}: no pod with service account pay in namespace shop is scheduled on node node-1`,
      );
      const node2 = await refused(client.requestCertificate(`spiffe://${TD}/ambit/node/node-2`));
      expect(node2.code).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      client.close();
    }
  });

  it('the token of the pod on node-2 obtains node-2', async () => {
    expect((await node(nodeToken('ambit-node-b'), 'node-2')).identity).toBe(
      `spiffe://${TD}/ambit/node/node-2`,
    );
  });

  it('an expired token is refused with the review error', async () => {
    const r = await refused(node(nodeToken('ambit-node-a', { expiresInSeconds: -10 })));
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.details).toContain('token review: not authenticated: [invalid bearer token, token has expired]');
  });

  it('a token for another audience is refused with the review error', async () => {
    const r = await refused(node(nodeToken('ambit-node-a', { audiences: ['vault'] })));
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.details).toContain(
      'token review: not authenticated: [invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["ambit"]]',
    );
  });

  it("a token of some other pod's service account is refused", async () => {
    const file = tokenFile({ namespace: 'shop', serviceAccount: 'cart', pod: pods['cart-1'] });
    const r = await refused(node(file));
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.details).toContain(
      `service account shop/cart may not bootstrap: it is not the node DaemonSet's (${NS}/ambit-node) and its pod shop/cart-1 is no waypoint's`,
    );
  });

  it('a legacy token bound to no pod is refused', async () => {
    const r = await refused(node(tokenFile({ namespace: NS, serviceAccount: 'ambit-node' })));
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.details).toContain(`the token of service account ${NS}/ambit-node is not bound to a pod`);
  });

  it("a waypoint pod's token obtains its waypoint's identity, and only that", async () => {
    const file = tokenFile({ namespace: 'shop', serviceAccount: 'waypoint', pod: pods['waypoint-1'] });
    const wp = await bootstrapWaypointIdentity({
      controller: address,
      stateDir,
      tokenFile: file,
      waypoint: 'shop/waypoint',
    });
    expect(wp.identity).toBe(workloadOf('waypoint'));
    const asNode = await refused(node(file));
    expect(asNode.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(asNode.details).toContain('is bound to waypoint shop/waypoint, not to node node-1');
  });

  it('concurrent bootstraps with one token share one TokenReview, and later ones hit the cache', async () => {
    const file = nodeToken();
    const before = issuer.reviews;
    const certs = await Promise.all(Array.from({ length: 8 }, () => node(file)));
    expect(certs.every((c) => c.identity === `spiffe://${TD}/ambit/node/node-1`)).toBe(true);
    await node(file);
    expect(issuer.reviews - before).toBe(1);
  });

  it('a token whose pod was deleted and recreated under the same name is refused', async () => {
    const file = nodeToken('ambit-node-b');
    fake.delete('Pod', NS, 'ambit-node-b');
    fake.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ambit-node-b', namespace: NS },
      spec: {
        nodeName: 'node-2',
        serviceAccountName: 'ambit-node',
        containers: [{ name: 'main', image: 'ambit' }],
      },
    });
    const r = await refused(node(file, 'node-2'));
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.details).toContain('does not match the UID in record');
  });

  it('the token file is read again at each bootstrap (the kubelet rotates it)', async () => {
    const file = nodeToken('ambit-node-a', { expiresInSeconds: -1 });
    expect((await refused(node(file))).details).toContain('token has expired');
    writeFileSync(
      file,
      `${issuer.mint({ namespace: NS, serviceAccount: 'ambit-node', pod: pods['ambit-node-a'] })}\n`,
    );
    expect((await node(file)).identity).toBe(`spiffe://${TD}/ambit/node/node-1`);
  });

  it('a review the API server cannot answer is UNAVAILABLE and not remembered: the retry succeeds', async () => {
    const file = nodeToken();
    issuer.unavailable = 1;
    const r = await refused(node(file));
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.details).toContain(
      'token review failed: CTL_KUBE_API: POST /apis/authentication.k8s.io/v1/tokenreviews: 503',
    );
    expect((await node(file)).identity).toBe(`spiffe://${TD}/ambit/node/node-1`);
  });

  it("a ztunnel's discovery client bootstraps with the token and receives node-1's view", async () => {
    const file = nodeToken();
    const client = new DiscoveryClient({
      controller: address,
      stateDir,
      subscriber: { kind: 'ztunnel', node: 'node-1' },
      tokenFile: file,
      onState: () => undefined,
    });
    try {
      await client.start();
      const names = client.current()?.state.workloads.map((w) => w.name) ?? [];
      expect(names).toContain('cart-1');
    } finally {
      await client.close();
    }
    // the same token cannot subscribe as node-2
    const other = new DiscoveryClient({
      controller: address,
      stateDir,
      subscriber: { kind: 'ztunnel', node: 'node-2' },
      tokenFile: file,
      onState: () => undefined,
    });
    try {
      const err = await other.start().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain('is bound to node node-1, not to node node-2');
    } finally {
      await other.close();
    }
  });
});
