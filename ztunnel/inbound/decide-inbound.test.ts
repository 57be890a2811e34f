import { describe, expect, it } from 'vitest';
import { decideInbound, type InboundDecision, type InboundFacts } from './decide-inbound.js';
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

const SERVER_AT_8080 = { ip: '10.0.2.1', port: 8080 };
const WP_REF = { namespace: 'default', name: 'wp' };
const serverBehindWaypoint = { ...server, waypoint: WP_REF };
const svcBehindWaypoint = { ...svc, waypoint: WP_REF };
const STRICT_DEFAULT: Partial<MeshState> = {
  peerAuthentications: [
    { namespace: 'default', name: 'strict', mode: 'STRICT', portLevelMtls: {}, meshWide: false },
  ],
};
const plaintext = (over: Partial<InboundFacts> = {}): InboundFacts => {
  const {
    method: _m,
    peerPrincipal: _p,
    forwarded: _f,
    ...rest
  } = hbone({
    transport: 'plaintext',
    peerAddress: '10.0.9.9',
  });
  return { ...rest, ...over };
};
/** What the HBONE facts above say about the source: the client pod, believed through forwarded. */
const FROM_CLIENT = { sourceIp: '10.0.1.1', sourceWorkload: client };
/** A plaintext client outside the mesh. */
const FROM_OUTSIDE = { sourceIp: '10.0.9.9' };

// Each row states the whole decision: destination, address, service, source, policy and mode for a
// forward; status, reason, detail and what was known for a refusal.
const cases: { name: string; state?: Partial<MeshState>; facts: InboundFacts; want: InboundDecision }[] = [
  {
    name: 'forwards to a local enrolled pod',
    facts: hbone(),
    want: {
      kind: 'forward',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
      mode: 'PERMISSIVE',
    },
  },
  {
    name: 'GET is 400',
    facts: hbone({ method: 'GET' }),
    want: {
      kind: 'reject',
      status: 400,
      reason: 'not-connect',
      detail: 'method GET is not CONNECT',
      ...FROM_CLIENT,
    },
  },
  {
    name: 'hostname authority is 400',
    facts: hbone({ authority: 'svc:80' }),
    want: {
      kind: 'reject',
      status: 400,
      reason: 'bad-authority',
      detail: 'bad :authority',
      ...FROM_CLIENT,
    },
  },
  {
    name: 'missing authority is 400',
    facts: hbone({ authority: undefined }),
    want: {
      kind: 'reject',
      status: 400,
      reason: 'bad-authority',
      detail: 'no :authority',
      ...FROM_CLIENT,
    },
  },
  {
    name: 'unknown IP is 503',
    facts: hbone({ authority: '10.9.9.9:80' }),
    want: {
      kind: 'reject',
      status: 503,
      reason: 'unknown-destination',
      detail: 'no enrolled workload has IP 10.9.9.9',
      address: { ip: '10.9.9.9', port: 80 },
      ...FROM_CLIENT,
    },
  },
  {
    name: 'pod not enrolled is 503',
    facts: hbone({ authority: '10.0.2.9:80' }),
    want: {
      kind: 'reject',
      status: 503,
      reason: 'unknown-destination',
      detail: 'no enrolled workload has IP 10.0.2.9',
      address: { ip: '10.0.2.9', port: 80 },
      ...FROM_CLIENT,
    },
  },
  {
    name: 'pod on another node is 503',
    facts: hbone({ authority: '10.0.3.1:80' }),
    want: {
      kind: 'reject',
      status: 503,
      reason: 'not-on-this-node',
      detail: 'default/other runs on n3',
      destination: other,
      address: { ip: '10.0.3.1', port: 80 },
      ...FROM_CLIENT,
    },
  },
  {
    name: 'DENY policy is 401',
    state: { authorizationPolicies: [policy({ name: 'deny', action: 'DENY', rules: [{}] })] },
    facts: hbone(),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'policy',
      detail: 'deny-policy by default/deny',
      policy: 'default/deny',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
    },
  },
  {
    name: 'ALLOW other namespace is 401',
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] }),
      ],
    },
    facts: hbone(),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'policy',
      detail: 'no-allow-match by default/a',
      policy: 'default/a',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
    },
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
    want: {
      kind: 'forward',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
      policy: 'default/a',
      mode: 'PERMISSIVE',
    },
  },
  {
    name: "ipBlocks use the forwarded address when it is the peer identity's pod",
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { ipBlocks: ['10.0.1.0/24'] } }] }] }),
      ],
    },
    facts: hbone(),
    want: {
      kind: 'forward',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
      policy: 'default/a',
      mode: 'PERMISSIVE',
    },
  },
  {
    name: "a forwarded address of someone else's pod is not believed",
    state: {
      authorizationPolicies: [
        policy({ name: 'a', rules: [{ from: [{ source: { ipBlocks: ['10.0.2.0/24'] } }] }] }),
      ],
    },
    facts: hbone({ forwarded: 'for="10.0.2.1:1"' }),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'policy',
      detail: 'no-allow-match by default/a',
      policy: 'default/a',
      destination: server,
      address: SERVER_AT_8080,
      sourceIp: '127.0.0.2', // the peer (node) address, not the claimed pod; no source workload
    },
  },
  {
    name: 'workload waypoint requires the waypoint identity',
    state: { workloads: [client, serverBehindWaypoint] },
    facts: hbone(),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'not-from-waypoint',
      detail: `default/server is served by a waypoint (${wp.identity}); peer is ${CLIENT_ID}`,
      destination: serverBehindWaypoint,
      address: SERVER_AT_8080,
      ...FROM_CLIENT,
    },
  },
  {
    name: 'from the waypoint is accepted',
    state: { workloads: [client, serverBehindWaypoint] },
    facts: hbone({ peerPrincipal: wp.identity! }),
    // the waypoint's forwarded client address is not its own pod's: the peer address stands in
    want: {
      kind: 'forward',
      destination: serverBehindWaypoint,
      address: SERVER_AT_8080,
      sourceIp: '127.0.0.2',
      mode: 'PERMISSIVE',
    },
  },
  {
    name: 'service waypoint (named by forwarded host) requires the waypoint',
    state: { services: [svcBehindWaypoint] },
    facts: hbone({ forwarded: 'for="10.0.1.1:4000";host=svc.default.svc.cluster.local' }),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'not-from-waypoint',
      detail: `default/server is served by a waypoint (${wp.identity}); peer is ${CLIENT_ID}`,
      destination: server,
      address: SERVER_AT_8080,
      service: svcBehindWaypoint,
      ...FROM_CLIENT,
    },
  },
  {
    name: 'plaintext PERMISSIVE (default) forwards',
    facts: plaintext(),
    want: {
      kind: 'forward',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_OUTSIDE,
      mode: 'PERMISSIVE',
    },
  },
  {
    name: 'plaintext STRICT refused',
    state: STRICT_DEFAULT,
    facts: plaintext(),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'mtls-required',
      detail: 'default/server port 8080 is STRICT',
      destination: server,
      address: SERVER_AT_8080,
      ...FROM_OUTSIDE,
    },
  },
  {
    name: 'HBONE accepted under STRICT',
    state: STRICT_DEFAULT,
    facts: hbone(),
    want: { kind: 'forward', destination: server, address: SERVER_AT_8080, ...FROM_CLIENT, mode: 'STRICT' },
  },
  {
    name: 'plaintext skips the waypoint rule but not policy',
    state: {
      workloads: [client, serverBehindWaypoint],
      authorizationPolicies: [policy({ name: 'p', rules: [{ from: [{ source: { principals: ['*'] } }] }] })],
    },
    facts: plaintext(),
    want: {
      kind: 'reject',
      status: 401,
      reason: 'policy',
      detail: 'no-allow-match by default/p',
      policy: 'default/p',
      destination: serverBehindWaypoint,
      address: SERVER_AT_8080,
      ...FROM_OUTSIDE,
    },
  },
  {
    name: 'a plaintext client that is a known pod is named as the source',
    facts: plaintext({ peerAddress: '10.0.1.1' }),
    want: {
      kind: 'forward',
      destination: server,
      address: SERVER_AT_8080,
      sourceIp: '10.0.1.1',
      sourceWorkload: client,
      mode: 'PERMISSIVE',
    },
  },
];

describe('decideInbound', () => {
  it.each(cases)('$name', ({ state, facts, want }) => {
    expect(decideInbound(snap(state), facts)).toStrictEqual(want);
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
