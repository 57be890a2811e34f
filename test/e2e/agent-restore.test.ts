// Capture survives a node reboot without the controller (Istio #53843, #55968): the agent
// enrolls node 1's pods from the controller and keeps what it enrolled in its restore cache
// (state dir, mode 0600); then a simulated reboot (programs detached, node pins and mesh address
// gone) with the controller stopped, and the agent restarted: it re-attaches capture from the
// cache before any controller answer - the STRICT pod refuses plaintext again and an enrolled
// pod's connect is redirected to the capture listener with its original destination. With the
// controller back the agent reconciles with the controller's view as usual (and the cache
// follows), and `ambit agent --uninstall` removes the cache with the pins, attachments and mesh
// address. Real kernel, local cluster on this machine's cgroup v2 root (hybrid here).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { writePeerAuthentications } from '../../local-cluster/manifests.js';
import { spawnIn, type ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, meshAndPlainSpec } from '../../local-cluster/topology.js';
import { PinnedMap } from '../../core/bpf-maps/pinned-map.js';
import { POD_POLICY_MAP } from '../../core/bpf-maps/map-codecs.js';
import { pinRoot } from '../../core/bpf-maps/pin-paths.js';
import { ATTACH_KINDS, PROGRAMS } from '../../agent/attach-kinds.js';
import { restoreCachePath } from '../../agent/restore-cache.js';
import { kernelTestsEnabled, repoRoot, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();

const spec = meshAndPlainSpec([
  { name: 'strict-1', namespace: 'mesh', node: 1 }, // the STRICT pod (PeerAuthentication below)
  { name: 'client-1', namespace: 'mesh', node: 1 }, // an enrolled client: its connects are captured
  { name: 'plain-1', namespace: 'plain', node: 1 }, // not enrolled: plaintext source
  { name: 'server-2', namespace: 'mesh', node: 2 }, // a mesh destination on the other node
]);

interface StubLine {
  orig: { ip: string; port: number } | null;
  src: string;
}

describe.skipIf(!enabled)('agent restore cache: capture back after a reboot without the controller', () => {
  let cluster: LocalCluster;
  let prefix = '';
  let controller: ManagedProcess | undefined;
  let agent: ManagedProcess | undefined;
  let cacheFile = '';

  const node1 = () => cluster.node(1);
  const cg = (pod: string) => cluster.podCgroup(cluster.pod(pod));
  const attached = (cgroup: string): { id: number; attach_type: string }[] => {
    const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', cgroup], { encoding: 'utf8' }).trim();
    return JSON.parse(out || '[]') as { id: number; attach_type: string }[];
  };
  const cache = () =>
    JSON.parse(readFileSync(cacheFile, 'utf8')) as {
      node: string;
      attachments: [string, string][];
      podPolicy: [string, string][];
      meshDst: [string, string][];
    };
  const plaintextToStrictPod = () =>
    cluster.runInPod('plain-1', cluster.pod('strict-1').ip, ECHO_PORT, ['--send', 'p\n', '--timeout', '700']);

  /** What a reboot takes away from a node: every attachment, bpffs (the pins) and lo's addresses. */
  const simulateReboot = (): void => {
    for (const pod of ['strict-1', 'client-1']) {
      for (const p of attached(cg(pod))) {
        // `cgroup show` says cgroup_sock_ops where `cgroup tree` says sock_ops
        const spec = PROGRAMS.find((s) =>
          [s.reportedAttachType, `cgroup_${s.reportedAttachType}`].includes(p.attach_type),
        );
        if (!spec) throw new Error(`unexpected attachment ${p.attach_type} on ${pod}`);
        execFileSync('bpftool', ['cgroup', 'detach', cg(pod), spec.attachType, 'id', String(p.id)]);
      }
      expect(attached(cg(pod))).toEqual([]);
    }
    rmSync(pinRoot(node1().name), { recursive: true, force: true });
    execFileSync('ip', ['-n', node1().netns, 'addr', 'del', `${cluster.meshAddress}/32`, 'dev', 'lo']);
  };

  /** `ambit agent` for node 1 with the controller's address, its token and the shared state dir. */
  const startAgentProcess = (): ManagedProcess => {
    const n = node1();
    const tokenFile = path.join(cluster.tmp, 'tokens', `${n.name}.token`);
    expect(existsSync(tokenFile)).toBe(true);
    return cluster.track(
      spawnIn({ netns: n.netns }, `agent ${n.name} (after reboot)`, [
        process.execPath,
        path.join(repoRoot, 'dist/cli/main.js'),
        'agent',
        '--node',
        n.name,
        '--controller',
        cluster.controllerAddress,
        '--state-dir',
        cluster.stateDir,
        '--mesh-address',
        cluster.meshAddress,
        '--token-file',
        tokenFile,
      ]),
    );
  };

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    cacheFile = restoreCachePath(cluster.stateDir, node1().name);
    writePeerAuthentications(cluster.configDir, { mesh: 'STRICT' });
    controller = await cluster.startController();
    agent = await cluster.startAgent(1);
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('enrolls from the controller and keeps what it enrolled in the restore cache (mode 0600)', async () => {
    await until(
      'node 1 pods enrolled',
      () => attached(cg('client-1')).length === ATTACH_KINDS.length,
      10_000,
    );
    expect(attached(cg('strict-1'))).toHaveLength(ATTACH_KINDS.length);
    expect(attached(cg('plain-1'))).toEqual([]);
    expect(await plaintextToStrictPod()).toMatchObject({ ok: false, error: 'connect timeout' });

    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const c = cache();
    expect(c.node).toBe(node1().name);
    expect(c.attachments.map(([cgroup]) => cgroup).sort()).toEqual([cg('client-1'), cg('strict-1')].sort());
    expect(c.podPolicy).toContainEqual([cluster.pod('strict-1').ip, 'STRICT']);
    expect(c.meshDst).toContainEqual([`${cluster.pod('server-2').ip}:0`, 'workload']);
  });

  it('after a reboot with the controller down, the restarted agent restores capture from the cache alone', async () => {
    await agent?.stop();
    await controller?.stop();
    expect(controller?.running).toBe(false);
    simulateReboot();
    // what a rebooted node looks like before the agent runs: the STRICT pod takes plaintext
    expect(await plaintextToStrictPod()).toMatchObject({ ok: true, reply: 'p\n' });

    agent = startAgentProcess();
    const restored = JSON.parse(await agent.waitForLine(/"msg":"restore cache applied"/, 30_000)) as {
      pods: string[];
      changedKernel: boolean;
      complete: boolean;
    };
    expect(restored).toMatchObject({
      pods: ['mesh/client-1', 'mesh/strict-1'],
      changedKernel: true,
      complete: true,
    });
    // nothing came from a controller: there is none
    expect(agent.lines.some((l) => l.includes('first mesh state applied'))).toBe(false);
    for (const pod of ['client-1', 'strict-1']) expect(attached(cg(pod))).toHaveLength(ATTACH_KINDS.length);

    // the STRICT pod refuses plaintext again
    expect(await plaintextToStrictPod()).toMatchObject({ ok: false, error: 'connect timeout' });

    // an enrolled pod's connect to a mesh destination is redirected, original destination kept
    const stub = await cluster.startCaptureStub(1); // opens the maps the restarted agent pinned
    const dst = cluster.pod('server-2');
    expect(await cluster.runInPod('client-1', dst.ip, ECHO_PORT, ['--send', 'restored\n'])).toMatchObject({
      ok: true,
      reply: 'restored\n',
    });
    const seen = stub.lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as StubLine)
      .find((l) => l.src.startsWith(`${cluster.pod('client-1').ip}:`));
    expect(seen?.orig).toEqual({ ip: dst.ip, port: ECHO_PORT });
    expect(agent.lines.some((l) => l.includes('first mesh state applied'))).toBe(false);
  });

  it('with the controller back, the agent reconciles with its view as before and the cache follows', async () => {
    controller = await cluster.startController();
    await agent?.waitForLine(/first mesh state applied/, 30_000);
    const policy = PinnedMap.open(node1().name, POD_POLICY_MAP);
    try {
      writePeerAuthentications(cluster.configDir, { mesh: 'PERMISSIVE' });
      const ip = cluster.pod('strict-1').ip;
      await until('PERMISSIVE from the controller', () => policy.lookup(ip)?.mode === 'PERMISSIVE', 15_000);
      await until(
        'PERMISSIVE in the restore cache',
        () => cache().podPolicy.some(([i, m]) => i === ip && m === 'PERMISSIVE'),
        5_000,
      );
      expect(await plaintextToStrictPod()).toMatchObject({ ok: true, reply: 'p\n' });
    } finally {
      policy.close();
    }
  });

  it('`ambit agent --uninstall` removes the restore cache with the pins, attachments and mesh address', async () => {
    await agent?.stop();
    const n = node1();
    execFileSync('nsenter', [
      `--net=/run/netns/${n.netns}`,
      '--',
      process.execPath,
      path.join(repoRoot, 'dist/cli/main.js'),
      'agent',
      '--uninstall',
      '--node',
      n.name,
      '--state-dir',
      cluster.stateDir,
      '--mesh-address',
      cluster.meshAddress,
    ]);
    expect(existsSync(cacheFile)).toBe(false);
    expect(existsSync(pinRoot(n.name))).toBe(false);
    for (const pod of ['client-1', 'strict-1']) expect(attached(cg(pod))).toEqual([]);
    const lo = execFileSync('ip', ['-n', n.netns, '-j', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    expect(lo).not.toContain(cluster.meshAddress);
  });
});
