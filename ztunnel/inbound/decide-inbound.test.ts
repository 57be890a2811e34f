import { describe, expect, it } from 'vitest';
import { decideInbound, type InboundFacts } from './decide-inbound.js';
import { buildSnapshot } from '../state/ztunnel-snapshot.js';
import { endpoint, meshState, node, policy, service, waypoint, workload } from '../state/mesh-fixture.js';
import type { MeshState } from '../../core/model/mesh.js';

const client = workload({ name: 'client', ip: '10.0.1.1', node: 'n1', namespace: 'web' });
const server = workload({ name: 'server', ip: '10.0.2.1', node: 'n2' });
const other = workload({ name: 'other', ip: '10.0.3.1', node: 'n3' });
const legacy = workload({ name: 'legacy', ip: '10.0.2.9', node: 'n2', enrolled: false });
const wp = waypoint({
  name: 'wp',
  for: 'all',
  instances: [{ workloadUid: 'wp', ip: '10.0.2.50', node: 'n2', ready: true }],
});
const svc = service({
  name: 'svc',
  vip: '10.96.0.10',
  port: 80,
  endpoints: [endpoint(server, { '80': 8080 })],
});
const CLIENT_ID = client.identity;

function snap(extra: Partial<MeshState> = {}) {
  return buildSnapshot(
    meshState({
      nodes: [node('n1', '127.0.0.2'), node('n2', '127.0.0.3')],
      workloads: [client, server, other, legacy],
      services: [svc],
      waypoints: [wp],
      ...extra,
    }),
    'v',
  );
}

const hbone = (over: Partial<InboundFacts> = {}): InboundFacts => ({
  node: 'n2',
  transport: 'hbone',
  method: 'CONNECT',
  authority: '10.0.2.1:8080',
  peerPrincipal: CLIENT_ID,
  peerAddress: '127.0.0.2',
  forwarded: 'for="10.0.1.1:4000"',
  ...over,
});

const cases: { name: string; state?: Partial<MeshState>; facts: InboundFacts; want: string }[] = [
  { name: 'forwards to a local enrolled pod', facts: hbone(), want: 'forward' },
  { name: 'GET is 400', facts: hbone({ method: 'GET' }), want: '400:not-connect' },
  { name: 'hostname authority is 400', facts: hbone({ authority: 'svc:80' }), want: '400:bad-authority' },
  { name: 'missing authority is 400', facts: hbone({ authority: undefined }), want: '400:bad-authority' },
  { name: 'unknown IP is 503', facts: hbone({ authority: '10.9.9.9:80' }), want: '503:unknown-destination' },
  {
    name: 'pod not enrolled is 503',
    facts: hbone({ authority: '10.0.2.9:80' }),
    want: '503:unknown-destination',
  },
  {
    name: 'pod on another node is 503',
    facts: hbone({ authority: '10.0.3.1:80' }),
    want: '503:not-on-this-node',
  },
  {
    name: 'DENY policy is 401',
    state: { authorizationPolicies: [policy({ name: 'deny', action: 'DENY', rules: [{}] })] },
    facts: hbone(),
    want: '401:policy',
  },
  {
    name: 'ALLOW other namespace is 401',
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] }),
      ],
    },
    facts: hbone(),
    want: '401:policy',
  },
  {
    name: 'ALLOW by principal forwards',
    state: {
      authorizationPolicies: [
        policy({
          name: 'a',
          rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/client'] } }] }],
        }),
      ],
    },
    facts: hbone(),
    want: 'forward',
  },
  {
    name: "ipBlocks use the forwarded address when it is the peer identity's pod",
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { ipBlocks: ['10.0.1.0/24'] } }] }] }),
      ],
    },
    facts: hbone(),
    want: 'forward',
  },
  {
    name: "a forwarded address of someone else's pod is not believed",
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { ipBlocks: ['10.0.2.0/24'] } }] }] }),
      ],
    },
    facts: hbone({ forwarded: 'for="10.0.2.1:1"' }),
    want: '401:policy',
  },
  {
    name: 'workload waypoint requires the waypoint identity',
    state: { workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }] },
    facts: hbone(),
    want: '401:not-from-waypoint',
  },
  {
    name: 'from the waypoint is accepted',
    state: { workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }] },
    facts: hbone({ peerPrincipal: wp.identity! }),
    want: 'forward',
  },
  {
    name: 'service waypoint (named by forwarded host) requires the waypoint',
    state: { services: [{ ...svc, waypoint: { namespace: 'default', name: 'wp' } }] },
    facts: hbone({ forwarded: 'for="10.0.1.1:4000";host=svc.default.svc.cluster.local' }),
    want: '401:not-from-waypoint',
  },
  {
    name: 'plaintext PERMISSIVE (default) forwards',
    facts: hbone({
      transport: 'plaintext',
      method: undefined,
      peerPrincipal: undefined,
      peerAddress: '10.0.9.9',
    }),
    want: 'forward',
  },
  {
    name: 'plaintext STRICT refused',
    state: {
      peerAuthentications: [
        { namespace: 'default', name: 'strict', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
      ],
    },
    facts: hbone({
      transport: 'plaintext',
      method: undefined,
      peerPrincipal: undefined,
      peerAddress: '10.0.9.9',
    }),
    want: '401:mtls-required',
  },
  {
    name: 'HBONE accepted under STRICT',
    state: {
      peerAuthentications: [
        { namespace: 'default', name: 'strict', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
      ],
    },
    facts: hbone(),
    want: 'forward',
  },
  {
    name: 'plaintext skips the waypoint rule but not policy',
    state: {
      workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }],
      authorizationPolicies: [policy({ name: 'p', rules: [{ from: [{ source: { principals: ['*'] } }] }] })],
    },
    facts: hbone({
      transport: 'plaintext',
      method: undefined,
      peerPrincipal: undefined,
      peerAddress: '10.0.9.9',
    }),
    want: '401:policy',
  },
];

describe('decideInbound', () => {
  it.each(cases)('$name', ({ state, facts, want }) => {
    const d = decideInbound(snap(state), facts);
    expect(d.kind === 'forward' ? 'forward' : `${d.status}:${d.reason}`).toBe(want);
  });

  it('reports the deciding policy and the source workload', () => {
    const d = decideInbound(
      snap({ authorizationPolicies: [policy({ name: 'deny', action: 'DENY', rules: [{}] })] }),
      hbone(),
    );
    expect(d).toMatchObject({
      kind: 'reject',
      policy: 'default/deny',
      sourceIp: '10.0.1.1',
      sourceWorkload: { name: 'client' },
    });
  });
});
