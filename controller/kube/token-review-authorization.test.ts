// What a reviewed service-account token may obtain from the CA (certificate-authorization.ts) and
// how certificates issued under it are identified again (caller-identity.ts): a table of requests
// against a small mesh state, in the shape of controller/certificate-authorization.test.ts.
import { X509Certificate } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { createCsr } from '../../core/identity/csr.js';
import { generateKey } from '../../core/identity/keys.js';
import { parseSpiffeId } from '../../core/identity/spiffe.js';
import type { MeshState, MeshWaypoint, Workload } from '../../core/model/mesh.js';
import { identifyFrom, type Caller, type CallerCheck } from '../caller-identity.js';
import { authorizeCertificate, type CertificateRequestFacts } from '../certificate-authorization.js';
import { bindingSubject } from '../certificate-binding.js';
import type { TokenScope } from '../token-scope.js';
import type { ServiceAccountTokenReviewer } from './token-review.js';

const TD = 'cluster.local';
const wl = (name: string, node: string, sa: string): Workload =>
  ({
    uid: `uid-${name}`,
    namespace: 'shop',
    name,
    serviceAccount: sa,
    node,
  }) as Partial<Workload> as Workload;
const wp = (name: string, identity: string | undefined): MeshWaypoint => ({
  namespace: 'shop',
  name,
  for: 'service',
  identity,
  instances: [],
});
const STATE: MeshState = {
  trustDomain: TD,
  workloads: [wl('cart-1', 'n1', 'cart'), wl('pay-1', 'n2', 'pay')],
  nodes: [
    { name: 'n1', address: '10.0.0.1', identity: `spiffe://${TD}/ambit/node/n1` },
    { name: 'n2', address: '10.0.0.2', identity: `spiffe://${TD}/ambit/node/n2` },
  ],
  waypoints: [wp('wp', `spiffe://${TD}/ns/shop/sa/wp`), wp('other', `spiffe://${TD}/ns/shop/sa/other`)],
} as Partial<MeshState> as MeshState;

const sa = (namespace: string, serviceAccount: string, scope: TokenScope): Caller => ({
  kind: 'service-account',
  account: { namespace, serviceAccount, pod: { name: `${serviceAccount}-pod`, uid: 'pod-uid-1' }, scope },
});
const nodePod = sa('ambit-system', 'ambit-node', { kind: 'node', node: 'n1' });
const ghostPod = sa('ambit-system', 'ambit-node', { kind: 'node', node: 'ghost' });
const wpPod = sa('shop', 'wp', { kind: 'waypoint', waypoint: 'shop/wp' });
/** A pod labelled for waypoint shop/wp but running as another service account. */
const impostor = sa('shop', 'cart', { kind: 'waypoint', waypoint: 'shop/wp' });
const NODE_CRED = 'the token of service account ambit-system/ambit-node (pod ambit-system/ambit-node-pod)';

describe('authorizeCertificate: service-account callers', () => {
  it.each<{ description: string; req: CertificateRequestFacts; want: string }>([
    {
      description: 'the node pod gets its node',
      req: { caller: nodePod, nodeName: 'n1' },
      want: `allow spiffe://${TD}/ambit/node/n1 token=sa:pod-uid-1`,
    },
    {
      description: 'the node pod without NodeName still gets only its node',
      req: { caller: nodePod },
      want: `allow spiffe://${TD}/ambit/node/n1 token=sa:pod-uid-1`,
    },
    {
      description: 'another node is refused',
      req: { caller: nodePod, nodeName: 'n2' },
      want: `permission-denied: ${NODE_CRED} is bound to node n1, not to node n2`,
    },
    {
      description: 'a workload identity directly is refused',
      req: { caller: nodePod, impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart` },
      want: `permission-denied: ${NODE_CRED} grants only spiffe://${TD}/ambit/node/n1`,
    },
    {
      description: 'a waypoint is refused to a node pod',
      req: { caller: nodePod, waypointFor: 'shop/wp' },
      want: `permission-denied: ${NODE_CRED} is bound to node n1, not to waypoint shop/wp`,
    },
    {
      description: 'a node that is not in the config',
      req: { caller: ghostPod },
      want: `permission-denied: ${NODE_CRED} cannot mint node ghost: node ghost is not a Node in the config`,
    },
    {
      description: 'the waypoint pod gets its waypoint identity',
      req: { caller: wpPod, waypointFor: 'shop/wp' },
      want: `allow spiffe://${TD}/ns/shop/sa/wp token=sa:pod-uid-1 waypoint=shop/wp`,
    },
    {
      description: 'the waypoint pod cannot bootstrap another waypoint',
      req: { caller: wpPod, waypointFor: 'shop/other' },
      want: 'permission-denied: the token of service account shop/wp (pod shop/wp-pod) is bound to waypoint shop/wp, not to waypoint shop/other',
    },
    {
      description: "a pod labelled for a waypoint but not running as the waypoint's service account",
      req: { caller: impostor, waypointFor: 'shop/wp' },
      want: `permission-denied: the token of service account shop/cart (pod shop/cart-pod) cannot bootstrap waypoint shop/wp: the waypoint's identity is spiffe://${TD}/ns/shop/sa/wp, not spiffe://${TD}/ns/shop/sa/cart`,
    },
  ])('$description', ({ req, want }) => {
    const d = authorizeCertificate(req, STATE);
    const got = d.allow
      ? `allow ${d.identity} ${Object.entries(d.binding)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : `${d.status}: ${d.message}`;
    expect(got.startsWith(want), got).toBe(true);
  });
});

describe('identifyFrom: reviewed tokens and the certificates issued under them', async () => {
  const ca = await CertificateAuthority.generate(TD);
  const root = new X509Certificate(ca.rootPem);
  const token = 'aaa.bbb.ccc';
  const reviewer = {
    cached: (t: string) =>
      t === token
        ? { ok: true as const, caller: (nodePod as Extract<Caller, { kind: 'service-account' }>).account }
        : undefined,
  } as Pick<ServiceAccountTokenReviewer, 'cached'> as ServiceAccountTokenReviewer;
  const check: CallerCheck = {
    joinToken: 'j'.repeat(64),
    // a certificate issued under a reviewed token never consults the token store
    tokens: {
      authenticate: () => ({ ok: false, reason: 'not a token of this controller' }),
      standing: (id) => {
        throw new Error(`the token store was asked about ${id}`);
      },
    },
    root,
    trustDomain: TD,
    serviceAccountTokens: reviewer,
  };
  const bearer = (t: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${t}`);
    return md;
  };

  it('a reviewed JWT bearer is the service-account caller; one not reviewed yet is anonymous', () => {
    expect(identifyFrom(bearer(token), undefined, check)).toEqual(nodePod);
    expect(identifyFrom(bearer('xxx.yyy.zzz'), undefined, check)).toEqual({
      kind: 'anonymous',
      reason: 'the service-account token has not been reviewed (retry)',
    });
  });

  it('a controller on a config directory says a JWT is not for it', () => {
    const embedded: CallerCheck = { ...check, serviceAccountTokens: undefined };
    const c = identifyFrom(bearer(token), undefined, embedded);
    expect(c.kind === 'anonymous' && c.reason).toContain(
      'a service-account token (JWT) is accepted only by a controller on the Kubernetes store',
    );
  });

  it('a node certificate issued under it stands on the mesh state alone, and obtains only its pods', async () => {
    const id = `spiffe://${TD}/ambit/node/n1`;
    const pem = await ca.sign(
      await createCsr(await generateKey(), id),
      id,
      3600_000,
      new Date(),
      [],
      bindingSubject(TD, { token: 'sa:pod-uid-1' }),
    );
    const caller = identifyFrom(new Metadata(), Buffer.from(new X509Certificate(pem).raw), check);
    expect(caller).toEqual({
      kind: 'certificate',
      id: parseSpiffeId(id),
      binding: { token: 'sa:pod-uid-1' },
    });
    const cart = authorizeCertificate(
      { caller, impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart` },
      STATE,
    );
    expect(cart).toMatchObject({ allow: true, binding: { token: 'sa:pod-uid-1', node: 'n1' } });
    const pay = authorizeCertificate(
      { caller, impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/pay` },
      STATE,
    );
    expect(pay).toMatchObject({ allow: false, status: 'permission-denied' });
  });
});
