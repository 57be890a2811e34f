import { describe, expect, it } from 'vitest';
import { authorizeCertificate, type CertificateRequestFacts } from './certificate-authorization.js';
import { parseSpiffeId } from '../core/identity/spiffe.js';
import type { MeshState, Workload } from '../core/model/mesh.js';
import type { Caller } from './caller-identity.js';
import type { CertificateBinding } from './certificate-binding.js';
import type { TokenRecord } from './token-store.js';

const TD = 'cluster.local';
const wl = (name: string, node: string, sa: string): Workload =>
  ({ uid: `shop/${name}`, namespace: 'shop', name, serviceAccount: sa, node }) as Workload;
const STATE = {
  trustDomain: TD,
  workloads: [wl('cart-1', 'n1', 'cart'), wl('pay-1', 'n2', 'pay')],
  nodes: [
    { name: 'n1', address: '10.0.0.1', identity: `spiffe://${TD}/ambit/node/n1` },
    { name: 'n2', address: '10.0.0.2', identity: `spiffe://${TD}/ambit/node/n2` },
  ],
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

const cert = (uri: string, binding: CertificateBinding = {}): Caller => ({
  kind: 'certificate',
  id: parseSpiffeId(uri)!,
  binding,
});
const token: Caller = { kind: 'join-token' };
const scoped = (scope: TokenRecord['scope']): Caller => ({
  kind: 'scoped-token',
  token: { id: 'abc123abc123', scope, secretSha256: '', createdAt: '2026-01-01T00:00:00.000Z' },
});
const n1Token = scoped({ kind: 'node', node: 'n1' });
const ghostToken = scoped({ kind: 'node', node: 'ghost' });
const wpToken = scoped({ kind: 'waypoint', waypoint: 'shop/wp' });

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
      description: 'join token + ghost NodeName (absent from the config)',
      req: { caller: token, nodeName: 'ghost' },
      want: 'permission-denied: the join token cannot mint node "ghost": node ghost is not a Node in the config',
    },
    {
      description: 'join token + NodeName with a space and a comma',
      req: { caller: token, nodeName: 'n1, O=evil' },
      want: 'permission-denied: the join token cannot mint node "n1, O=evil": node name "n1, O=evil" is not a valid Node name',
    },
    {
      description: 'join token + ghost node ImpersonatedIdentity',
      req: { caller: token, impersonatedIdentity: `spiffe://${TD}/ambit/node/ghost` },
      want: 'permission-denied: the join token cannot mint node "ghost"',
    },
    {
      description: 'node token -> its own node identity, bound to the token',
      req: { caller: n1Token, nodeName: 'n1' },
      want: `allow spiffe://${TD}/ambit/node/n1 node token=abc123abc123`,
    },
    {
      description: 'node token without NodeName -> its own node identity',
      req: { caller: n1Token },
      want: `allow spiffe://${TD}/ambit/node/n1 node`,
    },
    {
      description: 'node-1 token cannot bring up node-2',
      req: { caller: n1Token, nodeName: 'n2' },
      want: 'permission-denied: token abc123abc123 is bound to node n1, not to node n2',
    },
    {
      description: 'node-1 token cannot ask for node-2 identity',
      req: { caller: n1Token, impersonatedIdentity: `spiffe://${TD}/ambit/node/n2` },
      want: `permission-denied: token abc123abc123 grants only spiffe://${TD}/ambit/node/n1, not spiffe://${TD}/ambit/node/n2`,
    },
    {
      description: 'node token cannot mint a workload identity',
      req: { caller: n1Token, impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart` },
      want: 'permission-denied: token abc123abc123 grants only',
    },
    {
      description: 'node token cannot bootstrap a waypoint',
      req: { caller: n1Token, waypointFor: 'shop/wp' },
      want: 'permission-denied: token abc123abc123 is bound to node n1, not to waypoint shop/wp',
    },
    {
      description: 'token for a node absent from the config',
      req: { caller: ghostToken, nodeName: 'ghost' },
      want: 'permission-denied: token abc123abc123 cannot mint node ghost: node ghost is not a Node in the config',
    },
    {
      description: 'waypoint token -> its waypoint identity',
      req: { caller: wpToken, waypointFor: 'shop/wp' },
      want: `allow spiffe://${TD}/ns/shop/sa/wp waypoint token=abc123abc123 waypoint=shop/wp`,
    },
    {
      description: 'waypoint token cannot bootstrap a node',
      req: { caller: wpToken, nodeName: 'n1' },
      want: 'permission-denied: token abc123abc123 is bound to waypoint shop/wp, not to node n1',
    },
    {
      description: 'waypoint token cannot bootstrap another waypoint',
      req: { caller: wpToken, waypointFor: 'shop/empty' },
      want: 'permission-denied: token abc123abc123 is bound to waypoint shop/wp, not to waypoint shop/empty',
    },
    {
      description: 'workload certificate obtained by a node records the node and its token',
      req: {
        caller: cert(`spiffe://${TD}/ambit/node/n1`, { token: 'abc123abc123' }),
        impersonatedIdentity: `spiffe://${TD}/ns/shop/sa/cart`,
      },
      want: `allow spiffe://${TD}/ns/shop/sa/cart workload token=abc123abc123 node=n1`,
    },
    {
      description: 'node cert of a node removed from the config cannot renew',
      req: { caller: cert(`spiffe://${TD}/ambit/node/gone`, { token: 'admin' }) },
      want: `permission-denied: spiffe://${TD}/ambit/node/gone may no longer obtain certificates: node gone is not a Node in the config`,
    },
    {
      description: 'workload cert renews itself while its pod is on the node that obtained it',
      req: { caller: cert(`spiffe://${TD}/ns/shop/sa/cart`, { token: 'admin', node: 'n1' }) },
      want: `allow spiffe://${TD}/ns/shop/sa/cart workload token=admin node=n1`,
    },
    {
      description: 'workload cert whose pod left the node cannot renew',
      req: { caller: cert(`spiffe://${TD}/ns/shop/sa/pay`, { token: 'admin', node: 'n1' }) },
      want: `permission-denied: spiffe://${TD}/ns/shop/sa/pay may not renew: no pod with service account pay in namespace shop is scheduled on node n1 any more`,
    },
    {
      description: 'workload cert with no recorded node cannot renew',
      req: { caller: cert(`spiffe://${TD}/ns/shop/sa/cart`) },
      want: `permission-denied: spiffe://${TD}/ns/shop/sa/cart may not renew: the certificate records no node or waypoint`,
    },
    {
      description: 'waypoint cert renews itself while its Gateway has that identity',
      req: { caller: cert(`spiffe://${TD}/ns/shop/sa/wp`, { token: 'admin', waypoint: 'shop/wp' }) },
      want: `allow spiffe://${TD}/ns/shop/sa/wp waypoint token=admin waypoint=shop/wp`,
    },
    {
      description: 'waypoint cert of a removed Gateway cannot renew',
      req: { caller: cert(`spiffe://${TD}/ns/shop/sa/wp`, { token: 'admin', waypoint: 'shop/gone' }) },
      want: `permission-denied: spiffe://${TD}/ns/shop/sa/wp may not renew: waypoint shop/gone no longer exists`,
    },
    {
      description: 'anonymous',
      req: { caller: { kind: 'anonymous', reason: 'no client certificate and no join token' } },
      want: 'unauthenticated: unauthenticated certificate request: no client certificate',
    },
  ])('$description', ({ req, want }) => {
    const d = authorizeCertificate(req, STATE);
    const binding = d.allow
      ? Object.entries(d.binding)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${String(v)}`)
      : [];
    const got = d.allow ? [`allow ${d.identity}`, d.kind, ...binding].join(' ') : `${d.status}: ${d.message}`;
    expect(got.startsWith(want), got).toBe(true);
  });
});
