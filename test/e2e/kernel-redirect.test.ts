// Kernel-level e2e without controller or ztunnel: real netns nodes and pods, the real agent
// (fed a mesh state file) and a stand-in capture listener that looks up the original
// destination through core/bpf-maps and relays in plaintext. Shows: redirect by IP and by
// service VIP with the original destination recovered; unenrolled sources, non-mesh
// destinations and node probes untouched; STRICT drops plaintext SYNs except from the mesh
// address and node addresses, PERMISSIVE lets them in; label removal unenrolls within 1 s;
// an agent restart during a long transfer keeps it intact and attaches nothing twice;
// `ambit agent --uninstall`; no leftovers.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { meshStateFor } from '../../local-cluster/computed-mesh-state.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, HTTP_PORT, meshAndPlainSpec } from '../../local-cluster/topology.js';
import { PinnedMap } from '../../core/bpf-maps/pinned-map.js';
import { POD_POLICY_MAP, COUNTERS_MAP } from '../../core/bpf-maps/map-codecs.js';
import { pinRoot } from '../../core/bpf-maps/pin-paths.js';
import type { MtlsMode } from '../../core/model/mesh.js';
import { ATTACH_KINDS } from '../../agent/attach-kinds.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();

const spec = meshAndPlainSpec(
  [
    { name: 'mesh-1', namespace: 'mesh', node: 1, labels: { app: 'mesh-app' } },
    { name: 'plain-1', namespace: 'plain', node: 1, labels: { app: 'plain-app' } },
    { name: 'mesh-2', namespace: 'mesh', node: 2, labels: { app: 'mesh-app' } },
    { name: 'plain-2', namespace: 'plain', node: 2, labels: { app: 'plain-app' } },
  ],
  [
    {
      name: 'mesh-svc',
      namespace: 'mesh',
      selector: { app: 'mesh-app' },
      ports: [{ name: 'http', port: 80, targetPort: HTTP_PORT }],
    },
  ],
);

interface StubLine {
  orig: { ip: string; port: number } | null;
  src: string;
}

describe.skipIf(!enabled)('kernel redirect (agent + bpf, capture stub instead of ztunnel)', () => {
  let cluster: LocalCluster;
  let stubs: ManagedProcess[] = [];
  const agents: (ManagedProcess | undefined)[] = [];
  let prefix = '';

  const stubLines = (node: number): StubLine[] =>
    (stubs[node - 1]?.lines ?? []).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StubLine);

  const setState = (o: { meshLabel?: boolean; mode?: MtlsMode } = {}): void => {
    const t = cluster.topology;
    const namespaces = t.namespaces.map((n) =>
      n.name === 'mesh' && o.meshLabel === false ? { name: n.name, labels: {} } : n,
    );
    cluster.writeMeshState(
      meshStateFor({ ...t, namespaces }, { peerAuthentication: o.mode ? { mesh: o.mode } : undefined }),
    );
  };

  const attachedIds = (cgroup: string): number[] => {
    const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', cgroup], { encoding: 'utf8' }).trim();
    return (JSON.parse(out || '[]') as { id: number }[]).map((p) => p.id);
  };

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    setState();
    agents[0] = await cluster.startAgent(1, { stateFile: true, resyncMs: 300 });
    agents[1] = await cluster.startAgent(2, { stateFile: true });
    stubs = [await cluster.startCaptureStub(1), await cluster.startCaptureStub(2)];
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('redirects an enrolled pod to a mesh pod IP and recovers the original destination', async () => {
    const dst = cluster.pod('mesh-2');
    const r = await cluster.runInPod('mesh-1', dst.ip, ECHO_PORT, ['--send', 'marker-by-ip\n']);
    expect(r).toMatchObject({ ok: true, reply: 'marker-by-ip\n' });
    const hit = stubLines(1).find((l) => l.src.startsWith(cluster.pod('mesh-1').ip + ':'));
    expect(hit?.orig).toEqual({ ip: dst.ip, port: ECHO_PORT });
  });

  it('redirects a dual-stack socket connecting to an IPv4-mapped address (connect6)', async () => {
    const dst = cluster.pod('mesh-2');
    const before = stubLines(1).length;
    const r = await cluster.runInPod('mesh-1', `::ffff:${dst.ip}`, ECHO_PORT, [
      '--send',
      'marker-v4-mapped\n',
    ]);
    expect(r).toMatchObject({ ok: true, reply: 'marker-v4-mapped\n' });
    const hit = stubLines(1)
      .slice(before)
      .find((l) => l.src.startsWith(cluster.pod('mesh-1').ip + ':'));
    expect(hit?.orig).toEqual({ ip: dst.ip, port: ECHO_PORT });
  });

  it('redirects a connect to a service VIP:port with the VIP as original destination', async () => {
    const vip = cluster.topology.services[0]?.vip ?? '';
    const before = stubLines(1).length;
    await cluster.runInPod('mesh-1', vip, 80, ['--send', 'x', '--timeout', '1000']);
    expect(
      stubLines(1)
        .slice(before)
        .map((l) => l.orig),
    ).toContainEqual({ ip: vip, port: 80 });
  });

  it('leaves unenrolled sources, non-mesh destinations and node probes alone', async () => {
    const before = stubLines(1).length;
    // unenrolled pod -> enrolled pod: direct
    expect(
      await cluster.runInPod('plain-1', cluster.pod('mesh-2').ip, ECHO_PORT, ['--send', 'a\n']),
    ).toMatchObject({
      ok: true,
      reply: 'a\n',
    });
    // enrolled pod -> unenrolled destination: direct
    expect(
      await cluster.runInPod('mesh-1', cluster.pod('plain-2').ip, ECHO_PORT, ['--send', 'b\n']),
    ).toMatchObject({
      ok: true,
      reply: 'b\n',
    });
    // node (kubelet) probe -> enrolled pod: direct, and the app sees the node's address
    const probe = await cluster.runInNode(1, cluster.pod('mesh-1').ip, HTTP_PORT, ['--http', '/healthz']);
    expect(probe.ok).toBe(true);
    expect(probe.reply).toContain('"pod":"mesh-1"');
    expect(stubLines(1).length).toBe(before);
  });

  it('STRICT drops plaintext from an unenrolled pod but admits the mesh address and node probes; PERMISSIVE admits it', async () => {
    const target = cluster.pod('mesh-1');
    const policy = PinnedMap.open(cluster.node(1).name, POD_POLICY_MAP);
    try {
      setState({ mode: 'STRICT' });
      await until('STRICT in the pod policy map', () => policy.lookup(target.ip)?.mode === 'STRICT', 5000);
      const refused = await cluster.runInPod('plain-2', target.ip, ECHO_PORT, [
        '--send',
        'c\n',
        '--timeout',
        '700',
      ]);
      expect(refused).toMatchObject({ ok: false, error: 'connect timeout' });
      const fromMesh = await cluster.runInNode(1, target.ip, ECHO_PORT, [
        '--send',
        'd\n',
        '--local-address',
        cluster.meshAddress,
      ]);
      expect(fromMesh).toMatchObject({ ok: true, reply: 'd\n' });
      expect(await cluster.runInNode(1, target.ip, HTTP_PORT, ['--http', '/ready'])).toMatchObject({
        ok: true,
      });
      const counters = PinnedMap.open(cluster.node(1).name, COUNTERS_MAP);
      expect(counters.lookup(3)).toBeGreaterThan(0n); // AMBIT_CTR_STRICT_DROPPED
      counters.close();

      setState({ mode: 'PERMISSIVE' });
      await until(
        'PERMISSIVE in the pod policy map',
        () => policy.lookup(target.ip)?.mode === 'PERMISSIVE',
        5000,
      );
      expect(await cluster.runInPod('plain-2', target.ip, ECHO_PORT, ['--send', 'e\n'])).toMatchObject({
        ok: true,
        reply: 'e\n',
      });
    } finally {
      policy.close();
      setState();
    }
  });

  it('removing the namespace label unenrolls within 1 s and traffic flows directly again', async () => {
    const cg = cluster.podCgroup(cluster.pod('mesh-1'));
    expect(attachedIds(cg)).toHaveLength(ATTACH_KINDS.length);
    setState({ meshLabel: false });
    await until('mesh-1 detached', () => attachedIds(cg).length === 0, 1000, 10); // the 1 s budget
    const before = stubLines(1).length;
    const r = await cluster.runInPod('mesh-1', cluster.pod('mesh-2').ip, ECHO_PORT, ['--send', 'direct\n']);
    expect(r).toMatchObject({ ok: true, reply: 'direct\n' });
    expect(stubLines(1).length).toBe(before);

    setState();
    await until('mesh-1 re-enrolled', () => attachedIds(cg).length === ATTACH_KINDS.length, 5000);
  });

  it('deleting an enrolled pod unenrolls it; `ambit bpf` reports programs, attachments and enrolled pods', async () => {
    const bpf = (): {
      programs: unknown[];
      attachments: { cgroup: string }[];
      enrolledPods: { ip: string; mode: string }[];
    } => {
      const out = execFileSync(
        process.execPath,
        ['dist/cli/main.js', 'bpf', '--node', cluster.node(1).name, '-o', 'json'],
        {
          encoding: 'utf8',
        },
      );
      const reports = JSON.parse(out) as ReturnType<typeof bpf>[];
      expect(reports).toHaveLength(1);
      return reports[0] as ReturnType<typeof bpf>;
    };
    const mesh1 = cluster.pod('mesh-1');
    const before = bpf();
    expect(before.programs).toHaveLength(ATTACH_KINDS.length);
    expect(before.attachments.map((a) => a.cgroup)).toEqual([cluster.podCgroup(mesh1)]);
    expect(before.enrolledPods).toEqual([{ ip: mesh1.ip, mode: 'PERMISSIVE' }]);

    const state = meshStateFor(cluster.topology);
    cluster.writeMeshState({ ...state, workloads: state.workloads.filter((w) => w.name !== 'mesh-1') });
    const cg = cluster.podCgroup(mesh1);
    await until('mesh-1 detached after deletion', () => attachedIds(cg).length === 0, 5000);
    expect(bpf().enrolledPods).toEqual([]);

    setState();
    await until('mesh-1 back', () => attachedIds(cg).length === ATTACH_KINDS.length, 5000);
  });

  it('drift is healed: a program detached behind the agent is attached again by the resync', async () => {
    const cg = cluster.podCgroup(cluster.pod('mesh-1'));
    const id = JSON.parse(
      execFileSync(
        'bpftool',
        ['-j', 'prog', 'show', 'pinned', `${pinRoot(cluster.node(1).name)}/progs/connect4`],
        {
          encoding: 'utf8',
        },
      ),
    ) as { id: number };
    // The agent is stopped while the program is detached and checked: its 300 ms resync could
    // otherwise attach it again between the detach and the check (seen once).
    const agentPid = agents[0]?.child.pid;
    if (agentPid === undefined) throw new Error('agent of node 1 is not running');
    process.kill(-agentPid, 'SIGSTOP');
    try {
      execFileSync('bpftool', ['cgroup', 'detach', cg, 'connect4', 'id', String(id.id)]);
      expect(attachedIds(cg)).not.toContain(id.id);
    } finally {
      process.kill(-agentPid, 'SIGCONT');
    }
    await until('connect4 attached again', () => attachedIds(cg).includes(id.id), 5000);
    expect(attachedIds(cg)).toHaveLength(ATTACH_KINDS.length);
  });

  it('an agent restart during a long transfer keeps the transfer intact and attaches nothing twice', async () => {
    const total = 24_000_000;
    const cgroups = ['mesh-1'].map((p) => cluster.podCgroup(cluster.pod(p)));
    const idsBefore = cgroups.map(attachedIds);
    const relayed = stubLines(1).length;
    const transfer = cluster.startInPod('mesh-1', cluster.pod('mesh-2').ip, ECHO_PORT, [
      '--send',
      `SEND ${total}\n`,
      '--expect',
      String(total),
      '--delay-ms',
      '4',
      '--timeout',
      '5000',
    ]);
    await until('transfer under way', () => stubLines(1).length > relayed && transfer.running, 3000);
    await agents[0]?.stop();
    const restarted = await cluster.startAgent(1, { stateFile: true, resyncMs: 300 });
    agents[0] = restarted;
    expect(transfer.running).toBe(true); // the restart happened mid-transfer
    await transfer.wait();
    const result = JSON.parse(transfer.lines.find((l) => l.startsWith('{')) ?? '{}') as {
      ok: boolean;
      bytes: number;
    };
    expect(result).toMatchObject({ ok: true, bytes: total });
    expect(restarted.lines.join('\n')).toContain('"reusedPins":true');
    expect(restarted.lines.some((l) => l.includes('"msg":"reconciled"'))).toBe(false); // nothing to do
    expect(cgroups.map(attachedIds)).toEqual(idsBefore);
  });

  it('`ambit agent --uninstall` removes the node pins, its attachments and the mesh address', async () => {
    const n2 = cluster.node(2);
    await agents[1]?.stop();
    const cg = cluster.podCgroup(cluster.pod('mesh-2'));
    expect(attachedIds(cg)).toHaveLength(ATTACH_KINDS.length);
    execFileSync('nsenter', [
      `--net=/run/netns/${n2.netns}`,
      '--',
      process.execPath,
      'dist/cli/main.js',
      'agent',
      '--uninstall',
      '--node',
      n2.name,
    ]);
    expect(existsSync(pinRoot(n2.name))).toBe(false);
    expect(attachedIds(cg)).toEqual([]);
    const lo = execFileSync('ip', ['-n', n2.netns, '-j', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    expect(lo).not.toContain(cluster.meshAddress);
  });
});
