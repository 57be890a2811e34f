import { describe, expect, it } from 'vitest';
import { authorize, type AuthorizationRequest } from './authorize.js';
import { policy } from '../state/mesh-fixture.js';
import type { MeshAuthorizationPolicy } from '../../core/model/mesh.js';
import { ipInBlock } from '../../core/policy/cidr.js';

const req: AuthorizationRequest = {
  destination: { namespace: 'shop', labels: { app: 'cart' } },
  destinationIp: '10.0.2.1',
  destinationPort: 8080,
  sourcePrincipal: 'spiffe://cluster.local/ns/web/sa/frontend',
  sourceIp: '10.0.1.1',
};

const P = (p: Partial<MeshAuthorizationPolicy>) => policy({ name: 'p', namespace: 'shop', ...p });

const cases: {
  name: string;
  policies: MeshAuthorizationPolicy[];
  req?: Partial<AuthorizationRequest>;
  want: string;
}[] = [
  { name: 'no policy allows', policies: [], want: 'allow' },
  {
    name: 'ALLOW with no rules allows nothing',
    policies: [P({ action: 'ALLOW' })],
    want: 'deny:no-allow-match',
  },
  { name: 'DENY with no rules denies nothing', policies: [P({ action: 'DENY' })], want: 'allow' },
  { name: 'empty rule matches everything (ALLOW)', policies: [P({ rules: [{}] })], want: 'allow' },
  {
    name: 'empty rule matches everything (DENY)',
    policies: [P({ action: 'DENY', rules: [{}] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'principal exact (Istio form, no scheme)',
    policies: [P({ rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/frontend'] } }] }] })],
    want: 'allow',
  },
  {
    name: 'principal exact (spiffe form)',
    policies: [
      P({ rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/web/sa/frontend'] } }] }] }),
    ],
    want: 'allow',
  },
  {
    name: 'principal mismatch',
    policies: [P({ rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/other'] } }] }] })],
    want: 'deny:no-allow-match',
  },
  {
    name: 'principal suffix wildcard',
    policies: [P({ rules: [{ from: [{ source: { principals: ['*/sa/frontend'] } }] }] })],
    want: 'allow',
  },
  {
    name: 'principal prefix wildcard',
    policies: [P({ rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/*'] } }] }] })],
    want: 'allow',
  },
  {
    name: '* principal requires an authenticated peer',
    policies: [P({ rules: [{ from: [{ source: { principals: ['*'] } }] }] })],
    req: { sourcePrincipal: undefined },
    want: 'deny:no-allow-match',
  },
  {
    name: 'notPrincipals excludes',
    policies: [
      P({ rules: [{ from: [{ source: { notPrincipals: ['cluster.local/ns/web/sa/frontend'] } }] }] }),
    ],
    want: 'deny:no-allow-match',
  },
  {
    name: 'namespaces',
    policies: [P({ rules: [{ from: [{ source: { namespaces: ['web'] } }] }] })],
    want: 'allow',
  },
  {
    name: 'notNamespaces',
    policies: [P({ action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['shop'] } }] }] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'ipBlocks CIDR',
    policies: [P({ rules: [{ from: [{ source: { ipBlocks: ['10.0.1.0/24'] } }] }] })],
    want: 'allow',
  },
  {
    name: 'notIpBlocks',
    policies: [P({ action: 'DENY', rules: [{ from: [{ source: { notIpBlocks: ['10.0.1.0/24'] } }] }] })],
    want: 'allow',
  },
  { name: 'ports', policies: [P({ rules: [{ to: [{ operation: { ports: ['8080'] } }] }] })], want: 'allow' },
  {
    name: 'ports mismatch',
    policies: [P({ rules: [{ to: [{ operation: { ports: ['9090'] } }] }] })],
    want: 'deny:no-allow-match',
  },
  {
    name: 'notPorts deny',
    policies: [P({ action: 'DENY', rules: [{ to: [{ operation: { notPorts: ['9090'] } }] }] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'DENY wins over ALLOW',
    policies: [
      P({ name: 'a', rules: [{}] }),
      P({ name: 'd', action: 'DENY', rules: [{ from: [{ source: { namespaces: ['web'] } }] }] }),
    ],
    want: 'deny:deny-policy',
  },
  {
    name: 'one of several ALLOW policies suffices',
    policies: [
      P({ name: 'a', rules: [{ from: [{ source: { namespaces: ['x'] } }] }] }),
      P({ name: 'b', rules: [{ from: [{ source: { namespaces: ['web'] } }] }] }),
    ],
    want: 'allow',
  },
  { name: 'CUSTOM ignored', policies: [P({ action: 'CUSTOM', rules: [{}] })], want: 'allow' },
  { name: 'AUDIT ignored', policies: [P({ action: 'AUDIT', rules: [{}] })], want: 'allow' },
  {
    name: 'waypoint-enforced policies ignored',
    policies: [P({ action: 'DENY', rules: [{}], enforcedBy: 'waypoint' })],
    want: 'allow',
  },
  {
    name: 'other namespace ignored',
    policies: [P({ namespace: 'other', action: 'DENY', rules: [{}] })],
    want: 'allow',
  },
  {
    name: 'mesh-wide applies',
    policies: [P({ namespace: 'ambit-system', meshWide: true, action: 'DENY', rules: [{}] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'selector matches',
    policies: [P({ scope: { kind: 'selector', matchLabels: { app: 'cart' } }, action: 'DENY', rules: [{}] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'selector does not match',
    policies: [P({ scope: { kind: 'selector', matchLabels: { app: 'x' } }, action: 'DENY', rules: [{}] })],
    want: 'allow',
  },
  {
    name: 'L7 methods in ALLOW fails closed',
    policies: [P({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })],
    want: 'deny:l7-rule-at-ztunnel',
  },
  {
    name: 'L7 paths in DENY fails closed',
    policies: [P({ action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] })],
    want: 'deny:l7-rule-at-ztunnel',
  },
  {
    name: 'requestPrincipals is L7',
    policies: [P({ rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] })],
    want: 'deny:l7-rule-at-ztunnel',
  },
  {
    name: 'when request.headers is L7',
    policies: [P({ rules: [{ when: [{ key: 'request.headers[x]', values: ['1'] }] }] })],
    want: 'deny:l7-rule-at-ztunnel',
  },
  {
    name: 'L7 rule in DENY denies only what its L4 part matches: other namespace',
    policies: [
      P({
        action: 'DENY',
        rules: [{ from: [{ source: { namespaces: ['ops'] } }], to: [{ operation: { paths: ['/admin'] } }] }],
      }),
    ],
    want: 'allow',
  },
  {
    name: 'L7 rule in DENY denies what its L4 part matches: same namespace, any path',
    policies: [
      P({
        action: 'DENY',
        rules: [{ from: [{ source: { namespaces: ['web'] } }], to: [{ operation: { paths: ['/admin'] } }] }],
      }),
    ],
    want: 'deny:l7-rule-at-ztunnel',
  },
  {
    name: 'L7 rule in DENY on another port does not match',
    policies: [
      P({ action: 'DENY', rules: [{ to: [{ operation: { ports: ['9090'], methods: ['POST'] } }] }] }),
    ],
    want: 'allow',
  },
  {
    name: 'L7 rule in ALLOW for another source: that source is not denied by it, but not allowed either',
    policies: [
      P({
        rules: [
          { from: [{ source: { namespaces: ['ops'] } }], to: [{ operation: { methods: ['GET'] } }] },
          { from: [{ source: { namespaces: ['web'] } }] },
        ],
      }),
    ],
    want: 'allow',
  },
  {
    name: 'L7 rule in ALLOW allows nothing at L4',
    policies: [
      P({
        rules: [{ from: [{ source: { namespaces: ['ops'] } }], to: [{ operation: { methods: ['GET'] } }] }],
      }),
    ],
    want: 'deny:no-allow-match',
  },
  {
    name: 'L7 when key with an L4 when key: the L4 key still narrows the DENY',
    policies: [
      P({
        action: 'DENY',
        rules: [
          {
            when: [
              { key: 'request.headers[x]', values: ['1'] },
              { key: 'source.namespace', values: ['ops'] },
            ],
          },
        ],
      }),
    ],
    want: 'allow',
  },
  {
    name: 'when source.namespace is L4',
    policies: [P({ rules: [{ when: [{ key: 'source.namespace', values: ['web'] }] }] })],
    want: 'allow',
  },
  {
    name: 'when destination.port notValues',
    policies: [P({ rules: [{ when: [{ key: 'destination.port', notValues: ['8080'] }] }] })],
    want: 'deny:no-allow-match',
  },
  {
    name: 'when source.ip CIDR',
    policies: [P({ action: 'DENY', rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }] })],
    want: 'deny:deny-policy',
  },
  {
    name: 'from and to must both match',
    policies: [
      P({ rules: [{ from: [{ source: { namespaces: ['web'] } }], to: [{ operation: { ports: ['1'] } }] }] }),
    ],
    want: 'deny:no-allow-match',
  },
];

describe('authorize', () => {
  it.each(cases)('$name', ({ policies, req: over, want }) => {
    const r = authorize(policies, { ...req, ...over });
    expect(r.kind === 'allow' ? 'allow' : `deny:${r.reason}`).toBe(want);
  });

  it('names the deciding policy', () => {
    const r = authorize([P({ name: 'block-web', action: 'DENY', rules: [{}] })], req);
    expect(r).toEqual({ kind: 'deny', policy: 'shop/block-web', reason: 'deny-policy' });
  });
});

describe('ipInBlock', () => {
  it.each([
    ['10.1.2.3', '10.1.0.0/16', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3', '10.2.0.0/16', false],
    ['fd00::1', 'fd00::/8', true],
    ['10.1.2.3', 'fd00::/8', false],
    ['10.1.2.3', 'garbage', false],
  ] as const)('%s in %s = %s', (ip, block, want) => expect(ipInBlock(ip, block)).toBe(want));
});
