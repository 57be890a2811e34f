// Native IPv6 redirect e2e (issue 11 item 1): a dual-stack local cluster (pods with fd00:20:<n>::/64
// addresses), the real agent fed a mesh state file whose Pods list both addresses, and the capture
// stub standing in for the ztunnel. Shows: the agent fills ambit_mesh_dst6 from the pods' IPv6
// addresses; an enrolled pod's connect to a mesh pod's IPv6 address is redirected by connect6 to
// the mesh address, its original destination (the IPv6 address and port) is recovered through
// the pinned map and the bytes flow; a connect to an unenrolled pod's IPv6 address is not
// redirected and goes straight there; STRICT drops IPv6 plaintext SYNs to a dual-stack pod too,
// while a probe from the node's IPv6 address still reaches it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { meshStateFor } from '../../local-cluster/computed-mesh-state.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, HTTP_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import { PinnedMap } from '../../core/bpf-maps/pinned-map.js';
import {
  COUNTERS_MAP,
  COUNTER_NAMES,
  MESH_DST6_MAP,
  POD_POLICY6_MAP,
} from '../../core/bpf-maps/map-codecs.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();

const spec: TopologySpec = {
  nodes: 2,
  ipv6: true,
  namespaces: [
    { name: 'mesh', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
    { name: 'plain', labels: {} },
  ],
  pods: [
    { name: 'v6-client', namespace: 'mesh', node: 1, labels: { app: 'client' } },
    { name: 'v6-server', namespace: 'mesh', node: 2, labels: { app: 'server' } },
    { name: 'v6-plain', namespace: 'plain', node: 2, labels: { app: 'plain' } },
  ],
  services: [],
};

interface StubLine {
  orig: { ip: string; port: number } | null;
  src: string;
}

describe.skipIf(!enabled)('native IPv6 redirect (connect6 + agent IPv6 entries, capture stub)', () => {
  let cluster: LocalCluster;
  let stub: ManagedProcess | undefined;
  let prefix = '';

  const stubLines = (): StubLine[] =>
    (stub?.lines ?? []).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StubLine);

  const ip6 = (pod: string): string => {
    const ip = cluster.pod(pod).ip6;
    if (!ip) throw new Error(`pod ${pod} has no IPv6 address`);
    return ip;
  };

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    cluster.writeMeshState(meshStateFor(cluster.topology));
    await cluster.startAgent(1, { stateFile: true });
    await cluster.startAgent(2, { stateFile: true });
    stub = await cluster.startCaptureStub(1);
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('the agent fills the IPv6 mesh destinations from the pods of the mesh', async () => {
    const m = PinnedMap.open(cluster.node(1).name, MESH_DST6_MAP);
    try {
      await until(
        'the IPv6 entries on node 1',
        () => m.lookup({ ip: ip6('v6-server'), port: 0 }) && m.lookup({ ip: ip6('v6-client'), port: 0 }),
        5000,
      );
      expect(m.lookup({ ip: ip6('v6-plain'), port: 0 })).toBeUndefined();
    } finally {
      m.close();
    }
  });

  it('an IPv6 connect to a mesh pod is redirected with its original destination, and bytes flow', async () => {
    const counters = PinnedMap.open(cluster.node(1).name, COUNTERS_MAP);
    const redirected6 = () => counters.lookup(COUNTER_NAMES.indexOf('redirected6')) ?? 0n;
    try {
      const before = redirected6();
      const r = await cluster.runInPod('v6-client', ip6('v6-server'), ECHO_PORT, [
        '--send',
        'over-v6\n',
        '--timeout',
        '5000',
      ]);
      expect(r).toMatchObject({ ok: true, reply: 'over-v6\n' });
      const hit = stubLines().find((l) => l.src.startsWith(`${cluster.pod('v6-client').ip}:`));
      expect(hit?.orig).toEqual({ ip: ip6('v6-server'), port: ECHO_PORT });
      expect(redirected6()).toBeGreaterThan(before);
    } finally {
      counters.close();
    }
  });

  it('an IPv6 connect to a pod outside the mesh is not redirected', async () => {
    const before = stubLines().length;
    const r = await cluster.runInPod('v6-client', ip6('v6-plain'), HTTP_PORT, ['--http', '/who']);
    expect(r.ok).toBe(true);
    // the app saw the client's own IPv6 address: nothing sat in between
    expect(r.reply).toContain(`"from":"${ip6('v6-client')}"`);
    expect(stubLines().slice(before)).toEqual([]);
  });

  it('STRICT drops IPv6 plaintext to a dual-stack pod; a probe from the node IPv6 address passes', async () => {
    const policy = PinnedMap.open(cluster.node(2).name, POD_POLICY6_MAP);
    try {
      cluster.writeMeshState(meshStateFor(cluster.topology, { peerAuthentication: { mesh: 'STRICT' } }));
      await until(
        'STRICT for the IPv6 address on node 2',
        () => policy.lookup(ip6('v6-server'))?.mode === 'STRICT',
        10_000,
      );
      expect(
        await cluster.runInPod('v6-plain', ip6('v6-server'), ECHO_PORT, [
          '--send',
          'x\n',
          '--timeout',
          '700',
        ]),
      ).toMatchObject({ ok: false, error: 'connect timeout' });
      const probe = await cluster.runInNode(2, ip6('v6-server'), HTTP_PORT, ['--http', '/healthz']);
      expect(probe.ok).toBe(true);

      cluster.writeMeshState(meshStateFor(cluster.topology, { peerAuthentication: { mesh: 'PERMISSIVE' } }));
      await until('PERMISSIVE again', () => policy.lookup(ip6('v6-server'))?.mode === 'PERMISSIVE', 10_000);
      expect(
        await cluster.runInPod('v6-plain', ip6('v6-server'), ECHO_PORT, [
          '--send',
          'y\n',
          '--timeout',
          '3000',
        ]),
      ).toMatchObject({ ok: true, reply: 'y\n' });
    } finally {
      policy.close();
    }
  });
});
