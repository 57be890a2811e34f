import { describe, expect, it } from 'vitest';
import { meshStateFor } from './computed-mesh-state.js';
import { defaultTopologySpec, ECHO_PORT, HTTP_PORT, meshAndPlainSpec, planTopology } from './topology.js';

const t = planTopology(
  meshAndPlainSpec(
    [
      { name: 'mesh-1', namespace: 'mesh', node: 1, labels: { app: 'mesh-app' } },
      { name: 'plain-1', namespace: 'plain', node: 1, labels: { app: 'plain-app' } },
      { name: 'mesh-2', namespace: 'mesh', node: 2, labels: { app: 'mesh-app' } },
      { name: 'opted-out', namespace: 'mesh', node: 2, labels: { 'ambit.dev/dataplane-mode': 'none' } },
      { name: 'opted-in', namespace: 'plain', node: 2, labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
    ],
    [
      {
        name: 'mesh-svc',
        namespace: 'mesh',
        selector: { app: 'mesh-app' },
        ports: [{ name: 'http', port: 80, targetPort: HTTP_PORT }],
      },
    ],
  ),
  'tst',
);

describe('meshStateFor (the local cluster through computeMeshState)', () => {
  const state = meshStateFor(t);
  const byName = new Map(state.workloads.map((w) => [w.name, w]));

  it.each([
    { pod: 'mesh-1', enrolled: true, why: 'namespace labelled ambient' },
    { pod: 'mesh-2', enrolled: true, why: 'namespace labelled ambient' },
    { pod: 'plain-1', enrolled: false, why: 'namespace without the label' },
    { pod: 'opted-out', enrolled: false, why: 'pod label none overrides its namespace' },
    { pod: 'opted-in', enrolled: true, why: 'pod label ambient in a plain namespace' },
  ])('$pod enrolled=$enrolled ($why)', ({ pod, enrolled }) => {
    const plan = t.pods.find((p) => p.spec.name === pod);
    expect(byName.get(pod)).toMatchObject({
      uid: plan?.uid,
      namespace: plan?.spec.namespace,
      node: plan?.node.name,
      ips: [plan?.ip],
      enrolled,
      ready: true,
      terminating: false,
      cgroupPath: plan?.cgroupRel,
      identity: `spiffe://cluster.local/ns/${plan?.spec.namespace}/sa/default`,
    });
  });

  it('has every node at its underlay address and the service at its VIP with its members', () => {
    expect(state.nodes.map((n) => ({ name: n.name, address: n.address }))).toEqual(
      t.nodes.map((n) => ({ name: n.name, address: n.address })),
    );
    expect(state.services).toHaveLength(1);
    const svc = state.services[0];
    expect(svc).toMatchObject({ namespace: 'mesh', name: 'mesh-svc', vips: [t.services[0]?.vip] });
    expect(svc?.ports).toEqual([expect.objectContaining({ port: 80, targetPort: HTTP_PORT })]);
    expect(svc?.endpoints.map((e) => e.ip).sort()).toEqual(
      t.pods
        .filter((p) => p.labels.app === 'mesh-app')
        .map((p) => p.ip)
        .sort(),
    );
    expect(state.peerAuthentications).toEqual([]);
  });

  it.each(['STRICT', 'PERMISSIVE'] as const)('carries a namespace PeerAuthentication %s', (mode) => {
    const s = meshStateFor(t, { peerAuthentication: { mesh: mode } });
    expect(s.peerAuthentications).toEqual([
      expect.objectContaining({ namespace: 'mesh', name: 'default', mode }),
    ]);
  });

  it('compiles the demo topology, its authorization policy included', () => {
    const demo = meshStateFor(planTopology(defaultTopologySpec(), 'demo'));
    expect(demo.workloads.every((w) => w.enrolled)).toBe(true);
    expect(demo.authorizationPolicies).toEqual([
      expect.objectContaining({ namespace: 'demo', name: 'clients-no-echo', action: 'DENY' }),
    ]);
    expect(demo.services[0]?.ports.map((p) => p.port)).toEqual([80, ECHO_PORT]);
  });
});
