import { describe, expect, it } from 'vitest';
import { decideOutbound, type OutboundDecision, type OutboundFacts } from './decide-outbound.js';
import { LoadBalancerState } from './endpoint-picker.js';
import { buildSnapshot } from '../state/ztunnel-snapshot.js';
import { endpoint, meshState, node, service, waypoint, workload } from '../state/mesh-fixture.js';
import type { MeshTrafficPolicy, MeshState } from '../../core/model/mesh.js';

const n1 = node('n1', '127.0.0.2');
const n2 = node('n2', '127.0.0.3');
const client = workload({ name: 'client', ip: '10.0.1.1', node: 'n1' });
const server = workload({ name: 'server', ip: '10.0.2.1', node: 'n2' });
const server2 = workload({ name: 'server2', ip: '10.0.2.2', node: 'n2' });
const local = workload({ name: 'local', ip: '10.0.1.2', node: 'n1' });
const outsider = workload({ name: 'legacy', ip: '10.0.2.9', node: 'n2', enrolled: false });
const remoteClient = workload({ name: 'remote', ip: '10.0.2.5', node: 'n2' });
const wpPod = workload({
  name: 'wp-1',
  ip: '10.0.2.50',
  node: 'n2',
  enrolled: false,
  waypointFor: { namespace: 'default', name: 'wp' },
});
const wp = waypoint({
  name: 'wp',
  instances: [{ workloadUid: wpPod.uid, ip: wpPod.ips[0]!, node: 'n2', ready: true }],
});
const svc = service({
  name: 'svc',
  vip: '10.96.0.10',
  port: 80,
  targetPort: 8080,
  endpoints: [endpoint(server, { '80': 8080 }), endpoint(server2, { '80': 8080 })],
});

function snap(extra: Partial<MeshState> = {}) {
  return buildSnapshot(
    meshState({
      nodes: [n1, n2],
      workloads: [client, server, server2, local, outsider, remoteClient, wpPod],
      services: [svc],
      waypoints: [wp],
      ...extra,
    }),
    'v1',
  );
}

function facts(dst: string, port: number, src = '10.0.1.1'): OutboundFacts {
  return { node: 'n1', sourceIp: src, sourcePort: 40000, destinationIp: dst, destinationPort: port };
}

function summary(d: OutboundDecision): Record<string, unknown> {
  switch (d.kind) {
    case 'hbone':
      return {
        kind: d.kind,
        gateway: `${d.gateway.ip}:${d.gateway.port}`,
        authority: `${d.authority.ip}:${d.authority.port}`,
        id: d.serverIdentity,
        host: d.forwardedHost,
      };
    case 'waypoint':
      return {
        kind: d.kind,
        gateway: `${d.gateway.ip}:${d.gateway.port}`,
        authority: `${d.authority.ip}:${d.authority.port}`,
        id: d.serverIdentity,
        host: d.forwardedHost,
      };
    case 'passthrough':
      return { kind: d.kind, address: `${d.address.ip}:${d.address.port}` };
    case 'deny':
      return { kind: d.kind, reason: d.reason };
    default: {
      const never: never = d;
      return never;
    }
  }
}

const ID = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;
const NODE2 = 'spiffe://cluster.local/ambit/node/n2';

const cases: {
  name: string;
  state?: Partial<MeshState>;
  facts: OutboundFacts;
  want: Record<string, unknown>;
}[] = [
  {
    name: 'build_request_pod_ip_to_mesh_pod',
    facts: facts('10.0.2.1', 8080),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: undefined,
    },
  },
  {
    name: 'build_request_pod_to_pod_on_same_node',
    facts: facts('10.0.1.2', 9000),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.2:15008',
      authority: '10.0.1.2:9000',
      id: 'spiffe://cluster.local/ambit/node/n1',
      host: undefined,
    },
  },
  {
    name: 'build_request_service_vip_maps_target_port',
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_unknown_destination_passthrough',
    facts: facts('93.184.216.34', 443),
    want: { kind: 'passthrough', address: '93.184.216.34:443' },
  },
  {
    name: 'build_request_not_enrolled_pod_passthrough',
    facts: facts('10.0.2.9', 80),
    want: { kind: 'passthrough', address: '10.0.2.9:80' },
  },
  {
    name: 'build_request_unknown_source_denied',
    facts: facts('10.0.2.1', 8080, '10.9.9.9'),
    want: { kind: 'deny', reason: 'unknown-source' },
  },
  {
    name: 'build_request_source_not_enrolled_denied',
    facts: facts('10.0.2.1', 8080, '10.0.2.9'),
    want: { kind: 'deny', reason: 'unknown-source' },
  },
  {
    name: 'build_request_source_on_other_node_denied',
    facts: facts('10.0.2.1', 8080, '10.0.2.5'),
    want: { kind: 'deny', reason: 'source-not-on-node' },
  },
  {
    name: 'build_request_vip_other_port_is_not_service',
    facts: facts('10.96.0.10', 81),
    want: { kind: 'passthrough', address: '10.96.0.10:81' },
  },
  {
    name: 'build_request_service_without_ready_endpoint_refused',
    state: {
      services: [
        service({
          name: 'svc',
          vip: '10.96.0.10',
          port: 80,
          endpoints: [endpoint(server, { '80': 80 }, { ready: false })],
        }),
      ],
    },
    facts: facts('10.96.0.10', 80),
    want: { kind: 'deny', reason: 'no-ready-endpoint' },
  },
  {
    name: 'build_request_service_terminating_endpoint_skipped',
    state: {
      services: [
        service({
          name: 'svc',
          vip: '10.96.0.10',
          port: 80,
          endpoints: [endpoint(server, { '80': 80 }, { terminating: true }), endpoint(server2, { '80': 81 })],
        }),
      ],
    },
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.2:81',
      id: NODE2,
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_service_with_waypoint',
    state: { services: [{ ...svc, waypoint: { namespace: 'default', name: 'wp' } }] },
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'waypoint',
      gateway: '10.0.2.50:15008',
      authority: '10.96.0.10:80',
      id: ID('wp'),
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_service_waypoint_for_workload_only_is_skipped',
    state: {
      services: [{ ...svc, waypoint: { namespace: 'default', name: 'wp' } }],
      waypoints: [{ ...wp, for: 'workload' }],
    },
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_pod_with_workload_waypoint',
    state: {
      workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }, wpPod],
      waypoints: [{ ...wp, for: 'workload' }],
    },
    facts: facts('10.0.2.1', 8080),
    want: {
      kind: 'waypoint',
      gateway: '10.0.2.50:15008',
      authority: '10.0.2.1:8080',
      id: ID('wp'),
      host: undefined,
    },
  },
  {
    name: 'build_request_pod_with_service_only_waypoint_goes_direct',
    state: { workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }, wpPod] },
    facts: facts('10.0.2.1', 8080),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: undefined,
    },
  },
  {
    name: 'build_request_waypoint_all_serves_both',
    state: {
      workloads: [client, { ...server, waypoint: { namespace: 'default', name: 'wp' } }, wpPod],
      waypoints: [{ ...wp, for: 'all' }],
    },
    facts: facts('10.0.2.1', 8080),
    want: {
      kind: 'waypoint',
      gateway: '10.0.2.50:15008',
      authority: '10.0.2.1:8080',
      id: ID('wp'),
      host: undefined,
    },
  },
  {
    name: 'build_request_waypoint_without_ready_instance_refused',
    state: {
      services: [{ ...svc, waypoint: { namespace: 'default', name: 'wp' } }],
      waypoints: [{ ...wp, instances: [{ ...wp.instances[0]!, ready: false }] }],
    },
    facts: facts('10.96.0.10', 80),
    want: { kind: 'deny', reason: 'no-waypoint-instance' },
  },
  {
    name: 'build_request_waypoint_without_identity_refused',
    state: {
      services: [{ ...svc, waypoint: { namespace: 'default', name: 'wp' } }],
      waypoints: [waypoint({ name: 'wp', identity: undefined, instances: wp.instances })],
    },
    facts: facts('10.96.0.10', 80),
    want: { kind: 'deny', reason: 'waypoint-without-identity' },
  },
  {
    name: 'build_request_unknown_waypoint_ref_goes_direct',
    state: { services: [{ ...svc, waypoint: { namespace: 'default', name: 'missing' } }] },
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_service_endpoint_not_in_mesh_passthrough_to_endpoint',
    state: {
      services: [
        service({
          name: 'svc',
          vip: '10.96.0.10',
          port: 80,
          targetPort: 8080,
          endpoints: [endpoint(outsider, { '80': 8080 })],
        }),
      ],
    },
    facts: facts('10.96.0.10', 80),
    want: { kind: 'passthrough', address: '10.0.2.9:8080' },
  },
  {
    name: 'build_request_service_endpoint_unknown_pod_passthrough',
    state: {
      services: [
        service({
          name: 'svc',
          vip: '10.96.0.10',
          port: 80,
          endpoints: [
            {
              workloadUid: 'gone',
              ip: '10.0.3.3',
              node: 'n3',
              ports: { '80': 80 },
              ready: true,
              serving: true,
              terminating: false,
            },
          ],
        }),
      ],
    },
    facts: facts('10.96.0.10', 80),
    want: { kind: 'passthrough', address: '10.0.3.3:80' },
  },
  {
    name: 'build_request_named_target_port_without_mapping_keeps_dialled_port',
    state: {
      services: [
        service({
          name: 'svc',
          vip: '10.96.0.10',
          port: 80,
          targetPort: 'http',
          endpoints: [endpoint(server, {})],
        }),
      ],
    },
    facts: facts('10.96.0.10', 80),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:80',
      id: NODE2,
      host: 'svc.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_destination_node_unknown_refused',
    state: { nodes: [n1] },
    facts: facts('10.0.2.1', 8080),
    want: { kind: 'deny', reason: 'no-destination-node' },
  },
  {
    name: 'build_request_ipv6_pod',
    state: { workloads: [client, workload({ name: 'v6', ip: 'fd00::5', node: 'n2' })] },
    facts: facts('fd00::5', 80),
    want: { kind: 'hbone', gateway: '127.0.0.3:15008', authority: 'fd00::5:80', id: NODE2, host: undefined },
  },
  {
    name: 'build_request_ipv6_service_vip',
    state: {
      services: [
        service({
          name: 'svc6',
          vip: 'fd00:96::1',
          port: 443,
          targetPort: 8443,
          endpoints: [endpoint(server, { '443': 8443 })],
        }),
      ],
    },
    facts: facts('fd00:96::1', 443),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8443',
      id: NODE2,
      host: 'svc6.default.svc.cluster.local',
    },
  },
  {
    name: 'build_request_terminating_source_still_served',
    state: { workloads: [{ ...client, terminating: true }, server] },
    facts: facts('10.0.2.1', 8080),
    want: {
      kind: 'hbone',
      gateway: '127.0.0.3:15008',
      authority: '10.0.2.1:8080',
      id: NODE2,
      host: undefined,
    },
  },
];

describe('decideOutbound', () => {
  it.each(cases)('$name', ({ state, facts: f, want }) => {
    expect(summary(decideOutbound(snap(state), f, new LoadBalancerState()))).toEqual(want);
  });

  it('round robin rotates through ready endpoints', () => {
    const s = snap();
    const lb = new LoadBalancerState();
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decideOutbound(s, facts('10.96.0.10', 80), lb);
      if (d.kind !== 'hbone' || !d.lb) throw new Error(d.kind);
      lb.advance(d.lb.serviceKey, d.lb.nextCursor);
      seen.push(d.authority.ip);
    }
    expect(seen).toEqual(['10.0.2.1', '10.0.2.2', '10.0.2.1', '10.0.2.2']);
  });

  it('least connections picks the endpoint with fewest open connections when a TrafficPolicy asks', () => {
    const tp: MeshTrafficPolicy = {
      namespace: 'default',
      name: 'lc',
      services: ['default/svc'],
      loadBalancer: 'LEAST_REQUEST',
    };
    const s = snap({ trafficPolicies: [tp] });
    const lb = new LoadBalancerState();
    lb.opened('10.0.2.1:8080');
    lb.opened('10.0.2.1:8080');
    const picks: string[] = [];
    for (let i = 0; i < 3; i++) {
      const d = decideOutbound(s, facts('10.96.0.10', 80), lb);
      if (d.kind !== 'hbone' || !d.lb) throw new Error(d.kind);
      lb.advance(d.lb.serviceKey, d.lb.nextCursor);
      lb.opened(d.lb.endpoint);
      picks.push(d.authority.ip);
    }
    // server2 has 0, then 1 (<2), then both at 2: the cursor decides.
    expect(picks.slice(0, 2)).toEqual(['10.0.2.2', '10.0.2.2']);
    expect(lb.active('10.0.2.1:8080') + lb.active('10.0.2.2:8080')).toBe(5);
  });

  it('is pure: the same inputs give the same decision and the snapshot is untouched', () => {
    const s = snap();
    const before = JSON.stringify(s.state);
    const lb = new LoadBalancerState();
    expect(decideOutbound(s, facts('10.96.0.10', 80), lb)).toEqual(
      decideOutbound(s, facts('10.96.0.10', 80), lb),
    );
    expect(JSON.stringify(s.state)).toBe(before);
  });
});
