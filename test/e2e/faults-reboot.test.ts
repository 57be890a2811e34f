// A node "reboot" under traffic (issue 11 item 2; Istio #55968, #60328, #53843), on the local
// cluster: node 1's agent and ztunnel die as in a power cut (SIGKILL), its programs are detached,
// its pins and mesh address gone; its pods stay. Then node 1 boots in the order a node does: the
// agent first (it restores capture from its restore cache, agent-restore.test.ts), the ztunnel
// after. Traffic throughout: a client pod on node 1 to an echo pod on node 2 in a PERMISSIVE
// namespace (so a connect that escaped capture would succeed in plaintext and show as a bypass),
// and an unenrolled pod probing a STRICT pod on node 1 with plaintext. Shown: once the restore is
// applied no connection bypasses the mesh (they are refused until the ztunnel is up) and the
// STRICT pod refuses plaintext; from the ztunnel's readiness on every new connection succeeds;
// no byte is lost. The window before the agent runs (pins gone, pods running) exists only because
// a simulated reboot keeps the pods: it is reported, not asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { writePeerAuthentications } from '../../local-cluster/manifests.js';
import { signalGroup, type ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import { pinRoot } from '../../core/bpf-maps/pin-paths.js';
import { PROGRAMS } from '../../agent/attach-kinds.js';
import {
  bundleLoadClient,
  failuresText,
  FaultLoad,
  recoveryMs,
  reportFault,
  summarize,
} from '../support/fault-load.js';
import { kernelTestsEnabled } from './kernel-env.js';

const enabled = kernelTestsEnabled();
const ambient = { 'ambit.dev/dataplane-mode': 'ambient' };

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [
    { name: 'mesh', labels: ambient }, // STRICT below
    { name: 'open', labels: ambient }, // PERMISSIVE: plaintext to it would succeed
    { name: 'plain', labels: {} },
  ],
  pods: [
    { name: 'strict-1', namespace: 'mesh', node: 1 },
    { name: 'client-1', namespace: 'mesh', node: 1 },
    { name: 'plain-1', namespace: 'plain', node: 1 },
    { name: 'server-2', namespace: 'open', node: 2 },
  ],
  services: [],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pino's `time` of the first line matching re, else now. */
function lineTime(p: ManagedProcess, re: RegExp): number {
  const line = p.lines.find((l) => re.test(l));
  const t = line ? (JSON.parse(line) as { time?: number }).time : undefined;
  return typeof t === 'number' ? t : Date.now();
}

describe.skipIf(!enabled)('faults: a node reboots under traffic (pins gone, pods still there)', () => {
  let cluster: LocalCluster;
  let prefix = '';
  let work = '';
  let script = '';
  let agent: ManagedProcess | undefined;
  let ztunnel: ManagedProcess | undefined;

  const cg = (pod: string) => cluster.podCgroup(cluster.pod(pod));
  const attached = (cgroup: string): { id: number; attach_type: string }[] => {
    const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', cgroup], { encoding: 'utf8' }).trim();
    return JSON.parse(out || '[]') as { id: number; attach_type: string }[];
  };

  /** What a reboot takes from node 1: its processes, every attachment, the pins, lo's mesh address. */
  const reboot = async (): Promise<void> => {
    for (const p of [agent, ztunnel]) if (p) signalGroup(p.pid, 'SIGKILL');
    await Promise.all([agent?.wait(), ztunnel?.wait()]);
    for (const pod of ['strict-1', 'client-1']) {
      for (const a of attached(cg(pod))) {
        const s = PROGRAMS.find((x) =>
          [x.reportedAttachType, `cgroup_${x.reportedAttachType}`].includes(a.attach_type),
        );
        if (!s) throw new Error(`unexpected attachment ${a.attach_type} on ${pod}`);
        execFileSync('bpftool', ['cgroup', 'detach', cg(pod), s.attachType, 'id', String(a.id)]);
      }
    }
    rmSync(pinRoot(cluster.node(1).name), { recursive: true, force: true });
    execFileSync('ip', [
      '-n',
      cluster.node(1).netns,
      'addr',
      'del',
      `${cluster.meshAddress}/32`,
      'dev',
      'lo',
    ]);
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'ambit-faults-'));
    script = bundleLoadClient(work);
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    writePeerAuthentications(cluster.configDir, { mesh: 'STRICT' });
    await cluster.startController();
    agent = await cluster.startAgent(1);
    await cluster.startAgent(2);
    ztunnel = await cluster.startZtunnel(1);
    await cluster.startZtunnel(2);
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('capture is back before plaintext can flow, STRICT refuses plaintext, nothing is lost', async () => {
    const mesh = FaultLoad.start(cluster, script, 'client-1', {
      host: cluster.pod('server-2').ip,
      port: ECHO_PORT,
      durationMs: 14_000,
      long: { count: 2, chunk: 2048, intervalMs: 100, window: 65_536, lifetimeMs: 2_000 },
      short: { perSecond: 10, bytes: 512 },
      connectTimeoutMs: 500,
      stallMs: 5_000,
      drainMs: 5_000,
    });
    const plaintext = FaultLoad.start(cluster, script, 'plain-1', {
      host: cluster.pod('strict-1').ip,
      port: ECHO_PORT,
      durationMs: 14_000,
      short: { perSecond: 10, bytes: 64 },
      connectTimeoutMs: 500,
      stallMs: 2_000,
      drainMs: 2_000,
    });
    await sleep(3_000);
    const rebootAt = Date.now();
    await reboot();
    await sleep(1_000); // the node is "down"
    const bootAt = Date.now();
    agent = await cluster.startAgent(1);
    const restoreAt = lineTime(agent, /"msg":"restore cache applied"/);
    const ztunnelStartAt = Date.now();
    ztunnel = await cluster.startZtunnel(1);
    const readyAt = lineTime(ztunnel, /"msg":"ztunnel ready"/);
    const m = await mesh.result(60_000);
    const p = await plaintext.result(60_000);
    const s = summarize(m.connections);
    const within = (c: { startAt: number }, from: number, to: number) => c.startAt >= from && c.startAt < to;
    const okIn = (records: typeof m.connections, from: number, to: number) =>
      records.filter((c) => c.outcome === 'ok' && within(c, from, to)).length;
    const plainOkBefore = okIn(p.connections, 0, rebootAt);
    const plainOkDown = okIn(p.connections, rebootAt, restoreAt);
    const plainOkAfter = okIn(p.connections, restoreAt, Infinity);
    const bypassDown = okIn(
      m.connections.filter((c) => c.kind === 'short'),
      rebootAt,
      restoreAt,
    );
    // no ztunnel process existed in this window: a connection that succeeded escaped the mesh
    const bypassAfterRestore = okIn(m.connections, restoreAt, ztunnelStartAt);
    const afterReady = m.connections.filter((c) => c.startAt >= readyAt);
    reportFault({
      fault: 'node reboot (pins gone, pods kept)',
      bytesLost: s.bytesLost,
      refused: s.refused,
      reset: s.reset,
      recoveryMs: recoveryMs(m.connections, rebootAt) ?? null,
      notes: {
        ...s,
        agentRestoreMsAfterBoot: restoreAt - bootAt,
        ztunnelReadyMsAfterBoot: readyAt - bootAt,
        plaintextToStrictAccepted: {
          beforeReboot: plainOkBefore,
          podsUnguarded: plainOkDown,
          afterRestore: plainOkAfter,
        },
        plaintextProbes: p.connections.length,
        meshBypass: { podsUnguarded: bypassDown, afterRestoreBeforeZtunnel: bypassAfterRestore },
        refusedAfterZtunnelReady: afterReady.filter((c) => c.outcome !== 'ok').length,
      },
    });
    expect(s.bytesLost, failuresText(m.connections, rebootAt)).toBe(0);
    expect(s.lost).toBe(0);
    expect(s.hung, failuresText(m.connections, rebootAt)).toBe(0);
    // STRICT held before the reboot and again from the restore on
    expect(plainOkBefore).toBe(0);
    expect(plainOkAfter).toBe(0);
    // capture came back with the restore, before the ztunnel: refused (fail closed), never plaintext
    expect(bypassAfterRestore).toBe(0);
    // once the ztunnel is ready every new connection succeeds
    expect(
      afterReady.filter((c) => c.outcome !== 'ok'),
      failuresText(afterReady, readyAt),
    ).toEqual([]);
    expect(afterReady.length).toBeGreaterThan(0);
  });
});
