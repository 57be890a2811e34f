import { describe, expect, it } from 'vitest';
import { authorizeCertificate, type CertificateRequestFacts } from './certificate-authorization.js';
import { parseSpiffeId } from '../core/identity/spiffe.js';
import type { MeshState, Workload } from '../core/model/mesh.js';
import type { Caller } from './caller-identity.js';

const TD = 'cluster.local';
const wl = (name: string, node: string, sa: string): Workload =>
  ({ uid: `shop/${name}`, namespace: 'shop', name, serviceAccount: sa, node }) as Workload;
const STATE = {
  trustDomain: TD,
  workloads: [wl('cart-1', 'n1', 'cart'), wl('pay-1', 'n2', 'pay')],
  waypoints: [
    {
      namespace: 'shop',
      name: 'wp',
      for: 'service',
      identity: `spiffe://${TD}/ns/shop/sa/wp`,
      instances: [],
    },
    { namespace: 'shop', name: 'empty', for: 'service', instances: [] },
  ],
} as unknown as MeshState;

const cert = (uri: string): Caller => ({ kind: 'certificate', id: parseSpiffeId(uri)! });
const token: Caller = { kind: 'join-token' };

describe('authorizeCertificate', () => {
  it.each<{ description: string; req: CertificateRequestFacts; want: string }>([
    {
      description: 'join token + NodeName -> node identity',
      req: { caller: token, nodeName: 'n1' },
      want: `allow spiffe://${TD}/ambit/node/n1`,
    },
    {
      description: 'join token + node ImpersonatedIdentity',
      req: { caller: token, impersonatedIdentity: `spiffe://${TD}/ambit/node/n2` },
      want: `allow spiffe://${TD}/ambit/node/n2`,
    },
    {
      description: 'join token cannot mint a workload identity',
      req: { caller: token, impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart` },
      want: 'permission-denied: the join token only grants a node identity',
    },
    {
      description: 'join token without node or waypoint',
      req: { caller: token },
      want: 'invalid-argument: a join-token request must name the node',
    },
    {
      description: 'join token + WaypointFor',
      req: { caller: token, waypointFor: 'shop/wp' },
      want: `allow spiffe://${TD}/ns/shop/sa/wp`,
    },
    {
      description: 'join token + missing waypoint',
      req: { caller: token, waypointFor: 'shop/ghost' },
      want: 'permission-denied: waypoint shop/ghost does not exist',
    },
    {
      description: 'join token + waypoint without pods',
      req: { caller: token, waypointFor: 'shop/empty' },
      want: 'permission-denied: waypoint shop/empty has no pods',
    },
    {
      description: 'join token + waypoint asking for another identity',
      req: { caller: token, waypointFor: 'shop/wp', impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart` },
      want: 'permission-denied: the join token grants waypoint shop/wp only its own identity',
    },
    {
      description: 'node cert -> pod on its node',
      req: {
        caller: cert(`spiffe://${TD}/ambit/node/n1`),
        impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart`,
      },
      want: `allow spiffe://${TD}/ns/shop/sa/cart`,
    },
    {
      description: 'node cert -> pod on another node',
      req: {
        caller: cert(`spiffe://${TD}/ambit/node/n1`),
        impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/pay`,
      },
      want: `permission-denied: node n1 may not obtain spiffe://${TD}/ns/shop/sa/pay: no pod with service account pay in namespace shop is scheduled on node n1`,
    },
    {
      description: 'node cert renews itself',
      req: {
        caller: cert(`spiffe://${TD}/ambit/node/n1`),
        impersonatedIdentity: `spiffe://${TD}/ambit/node/n1`,
      },
      want: `allow spiffe://${TD}/ambit/node/n1`,
    },
    {
      description: 'node cert without ImpersonatedIdentity renews itself',
      req: { caller: cert(`spiffe://${TD}/ambit/node/n1`) },
      want: `allow spiffe://${TD}/ambit/node/n1`,
    },
    {
      description: 'workload cert cannot obtain others',
      req: {
        caller: cert(`spiffe://${TD}/ns/shop/sa/wp`),
        impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart`,
      },
      want: `permission-denied: spiffe://${TD}/ns/shop/sa/wp may only renew its own identity`,
    },
    {
      description: 'anonymous',
      req: { caller: { kind: 'anonymous', reason: 'no client certificate and no join token' } },
      want: 'unauthenticated: unauthenticated certificate request: no client certificate',
    },
  ])('$description', ({ req, want }) => {
    const d = authorizeCertificate(req, STATE);
    const got = d.allow ? `allow ${d.identity}` : `${d.status}: ${d.message}`;
    expect(got.startsWith(want), got).toBe(true);
  });
});
