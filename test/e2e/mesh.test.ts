// Full-mesh e2e on the local cluster: controller (control netns), and per node the agent and
// the ztunnel (node netns), real pods in their cgroups. Shows: pod -> pod across nodes by IP
// and by Service VIP works, the source ztunnel logged it with the original destination and
// counted it; the underlay carries no plaintext (tcpdump on node 1's port of the underlay bridge, with a
// plaintext control flow proving the capture would see it); unenrolled sources and node probes
// bypass the ztunnel; STRICT refuses plaintext from an unenrolled pod, PERMISSIVE admits it;
// an agent restart mid-transfer is harmless; removing the namespace label unenrolls within 1 s;
// nothing is left afterwards.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { inNetns } from '../../local-cluster/host.js';
import { writeNamespaces, writePeerAuthentications } from '../../local-cluster/manifests.js';
import { scrapeMetrics } from '../../local-cluster/demo.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, HTTP_PORT, meshAndPlainSpec } from '../../local-cluster/topology.js';
import { PinnedMap } from '../../core/bpf-maps/pinned-map.js';
import { POD_POLICY_MAP } from '../../core/bpf-maps/map-codecs.js';
import { ATTACH_KINDS } from '../../agent/attach-kinds.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();

const spec = meshAndPlainSpec(
  [
    { name: 'mesh-1', namespace: 'mesh', node: 1, labels: { app: 'mesh-app' }, serviceAccount: 'mesh-sa' },
    { name: 'plain-1', namespace: 'plain', node: 1, labels: { app: 'plain-app' } },
    { name: 'mesh-2', namespace: 'mesh', node: 2, labels: { app: 'mesh-app' }, serviceAccount: 'mesh-sa' },
    { name: 'plain-2', namespace: 'plain', node: 2, labels: { app: 'plain-app' } },
  ],
  [
    {
      name: 'mesh-svc',
      namespace: 'mesh',
      selector: { app: 'mesh-app' },
      ports: [
        { name: 'http', port: 80, targetPort: HTTP_PORT },
        { name: 'echo', port: ECHO_PORT, targetPort: ECHO_PORT },
      ],
    },
  ],
);

interface AccessLine {
  access?: { direction: string; originalDestination?: string; src: { ip: string; workload?: string } };
}

describe.skipIf(!enabled)('mesh e2e (controller + agents + ztunnels)', () => {
  let cluster: LocalCluster;
  let prefix = '';
  const agents: ManagedProcess[] = [];
  const ztunnels: ManagedProcess[] = [];

  const accessLines = (node: number): NonNullable<AccessLine['access']>[] =>
    (ztunnels[node - 1]?.lines ?? [])
      .filter((l) => l.includes('"access"'))
      .map((l) => (JSON.parse(l) as AccessLine).access)
      .filter((a): a is NonNullable<AccessLine['access']> => a !== undefined);

  const attachedCount = (pod: string): number => {
    const out = inNetns(cluster.node(1).netns, [
      'bpftool',
      '-j',
      'cgroup',
      'show',
      cluster.podCgroup(cluster.pod(pod)),
    ]);
    return (JSON.parse(out.trim() || '[]') as unknown[]).length;
  };

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    await cluster.startController();
    for (const n of cluster.topology.nodes) agents.push(await cluster.startAgent(n.index));
    for (const n of cluster.topology.nodes) ztunnels.push(await cluster.startZtunnel(n.index));
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('pod -> pod across nodes by IP and by VIP: works, logged with the original destination, counted; no plaintext on the underlay', async () => {
    const pcap = path.join(cluster.tmp, 'underlay.pcap');
    const dump = spawn(
      'nsenter',
      [
        `--net=/run/netns/${cluster.topology.controlNetns}`,
        '--',
        'tcpdump',
        '-i',
        'n1',
        '-Z',
        'root',
        '--immediate-mode', // else packets still in the ring at SIGINT are never written
        '-U',
        '-s',
        '0',
        '-w',
        pcap,
        'tcp',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      await until(
        'tcpdump listening',
        () => (dump.stderr.read() ?? '').toString().includes('listening') || undefined,
        5000,
      );
      const marker = `AMBIT-MARKER-${prefix}`;
      const dst = cluster.pod('mesh-2');
      const byIp = await cluster.runInPod('mesh-1', dst.ip, ECHO_PORT, [
        '--send',
        `${marker}\n`,
        '--timeout',
        '5000',
      ]);
      expect(byIp).toMatchObject({ ok: true, reply: `${marker}\n` });
      const vip = cluster.topology.services[0]?.vip ?? '';
      const byVip = await cluster.runInPod('mesh-1', vip, 80, ['--http', `/${marker}`, '--timeout', '5000']);
      expect(byVip.ok).toBe(true);
      expect(byVip.reply).toContain('"pod":"mesh-');
      // control: the same marker in plaintext between unenrolled pods must show up in the capture
      const control = `PLAINTEXT-CONTROL-${prefix}`;
      expect(
        await cluster.runInPod('plain-1', cluster.pod('plain-2').ip, ECHO_PORT, ['--send', `${control}\n`]),
      ).toMatchObject({ ok: true });
      // tcpdump writes packets in order (-U): once the control is in the file, the marker
      // connections before it are too.
      await until(
        'tcpdump to write the plaintext control',
        () => readFileSync(pcap).toString('latin1').includes(control),
        5000,
      );
    } finally {
      dump.kill('SIGINT');
      await new Promise((r) => dump.on('exit', r));
    }
    const captured = readFileSync(pcap).toString('latin1');
    expect(captured).toContain(`PLAINTEXT-CONTROL-${prefix}`);
    expect(captured).not.toContain(`AMBIT-MARKER-${prefix}`);
    expect(captured.length).toBeGreaterThan(1000);

    const dstIp = cluster.pod('mesh-2').ip;
    const vip = cluster.topology.services[0]?.vip ?? '';
    await until(
      'access log lines on node 1',
      () => {
        const orig = accessLines(1)
          .filter((a) => a.direction === 'outbound')
          .map((a) => a.originalDestination);
        return orig.includes(`${dstIp}:${ECHO_PORT}`) && orig.includes(`${vip}:80`);
      },
      5000,
    );
    const opened = scrapeMetrics(cluster, 1).filter(
      (s) =>
        s.name === 'istio_tcp_connections_opened_total' &&
        s.labels.reporter === 'source' &&
        s.labels.source_workload === 'mesh-1',
    );
    expect(opened.reduce((a, s) => a + s.value, 0)).toBeGreaterThanOrEqual(2);
    expect(opened.every((s) => s.labels.connection_security_policy === 'mutual_tls')).toBe(true);
  });

  it('an unenrolled pod and a node probe go straight to the pod, not through the ztunnel', async () => {
    const before = accessLines(1).length;
    expect(
      await cluster.runInPod('plain-1', cluster.pod('mesh-2').ip, ECHO_PORT, ['--send', 'direct\n']),
    ).toMatchObject({ ok: true, reply: 'direct\n' });
    const probe = await cluster.runInNode(1, cluster.pod('mesh-1').ip, HTTP_PORT, ['--http', '/healthz']);
    expect(probe.ok).toBe(true);
    expect(probe.reply).toContain(`"from":"::ffff:${cluster.node(1).bridgeAddress}"`);
    // Not a wait for a condition: a quiet window in which a wrongly captured connection's access
    // line would show (a line that never comes cannot be waited for).
    await new Promise((r) => setTimeout(r, 200));
    expect(
      accessLines(1)
        .slice(before)
        .filter((a) => a.direction === 'outbound'),
    ).toEqual([]);
  });

  it('STRICT refuses plaintext from an unenrolled pod while mesh traffic still flows; PERMISSIVE admits it', async () => {
    const target = cluster.pod('mesh-2');
    const policy = PinnedMap.open(cluster.node(2).name, POD_POLICY_MAP);
    try {
      writePeerAuthentications(cluster.configDir, { mesh: 'STRICT' });
      await until('STRICT on node 2', () => policy.lookup(target.ip)?.mode === 'STRICT', 10_000);
      expect(
        await cluster.runInPod('plain-1', target.ip, ECHO_PORT, ['--send', 'x\n', '--timeout', '700']),
      ).toMatchObject({ ok: false, error: 'connect timeout' });
      expect(
        await cluster.runInPod('mesh-1', target.ip, ECHO_PORT, ['--send', 'via-mesh\n', '--timeout', '5000']),
      ).toMatchObject({ ok: true, reply: 'via-mesh\n' });

      writePeerAuthentications(cluster.configDir, { mesh: 'PERMISSIVE' });
      await until('PERMISSIVE on node 2', () => policy.lookup(target.ip)?.mode === 'PERMISSIVE', 10_000);
      expect(await cluster.runInPod('plain-1', target.ip, ECHO_PORT, ['--send', 'y\n'])).toMatchObject({
        ok: true,
        reply: 'y\n',
      });
    } finally {
      policy.close();
    }
  });

  it('restarting the agent during a long transfer through the mesh: it completes, nothing attached twice', async () => {
    const total = 16_000_000;
    const attachedBefore = attachedCount('mesh-1');
    const openedFromMesh1 = () =>
      scrapeMetrics(cluster, 1)
        .filter(
          (x) =>
            x.name === 'istio_tcp_connections_opened_total' &&
            x.labels.reporter === 'source' &&
            x.labels.source_workload === 'mesh-1',
        )
        .reduce((a, x) => a + x.value, 0);
    const openedBefore = openedFromMesh1();
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
    await until(
      'the transfer to open its connection through node 1',
      () => openedFromMesh1() > openedBefore,
      5000,
      100,
    );
    expect(transfer.running).toBe(true);
    await agents[0]?.stop();
    const restarted = await cluster.startAgent(1);
    agents[0] = restarted;
    await transfer.wait();
    const result = JSON.parse(transfer.lines.find((l) => l.startsWith('{')) ?? '{}') as {
      ok: boolean;
      bytes: number;
    };
    expect(result).toMatchObject({ ok: true, bytes: total });
    expect(restarted.lines.join('\n')).toContain('"reusedPins":true');
    expect(restarted.lines.some((l) => l.includes('"msg":"reconciled"'))).toBe(false);
    expect(attachedCount('mesh-1')).toBe(attachedBefore);
  });

  it('removing the namespace label unenrolls within 1 s and traffic flows directly again', async () => {
    expect(attachedCount('mesh-1')).toBe(ATTACH_KINDS.length);
    writeNamespaces(cluster.configDir, [
      { name: 'mesh', labels: {} },
      { name: 'plain', labels: {} },
    ]);
    await until('mesh-1 unenrolled', () => attachedCount('mesh-1') === 0, 1000, 10); // the 1 s budget
    const before = accessLines(1).length;
    expect(
      await cluster.runInPod('mesh-1', cluster.pod('mesh-2').ip, ECHO_PORT, ['--send', 'after-unenroll\n']),
    ).toMatchObject({ ok: true, reply: 'after-unenroll\n' });
    // Not a wait for a condition: a quiet window in which a wrongly captured connection's access
    // line would show (a line that never comes cannot be waited for).
    await new Promise((r) => setTimeout(r, 200));
    expect(
      accessLines(1)
        .slice(before)
        .filter((a) => a.direction === 'outbound'),
    ).toEqual([]);
  });
});
