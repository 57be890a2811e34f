// A node reboot under traffic (issue 11 item 2; Istio #55968, #60328, #53843), on the local
// cluster, modelled as a real reboot: node 1 loses power - its agent, its ztunnel AND every pod
// process die (SIGKILL), its programs are detached, its pins and mesh address gone (the pods'
// netns and cgroups stay: the sandboxes the kubelet re-creates with the same IPs). Then it boots
// in the order that hurts: the "kubelet" starts restarting node 1's pods at once, before the
// agent, each through the pod start gate (`ambit cni gate`, the CNI-ADD analogue: refused until
// the agent has the pod's capture in place, retried); the agent starts 2.5 s later and restores
// from its cache; the ztunnel comes last and late (2 s after client-1 below runs), so a capture
// that was missing would show as plaintext in between. Load is driven from node 2 so it survives the reboot: a client
// pod to an echo pod in a PERMISSIVE namespace on node 1 and to the STRICT pod on node 1, an
// unenrolled pod probing the STRICT pod with plaintext; after boot a client pod on node 1,
// restarted through the gate, to a PERMISSIVE pod on node 2 (plaintext there would succeed, so a
// connect that escaped capture shows). Shown: no node-1 pod process starts before its gate passes
// (and the gate passes only with every program attached); the STRICT pod never accepts plaintext;
// no connection bypasses the mesh (refused until the ztunnel is up: fail closed); from node 1's
// readiness on every new connection succeeds; no byte is lost and nothing hangs. A second reboot
// with the controller down through the boot shows the gate passing on the restore cache alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, type PodStartThroughGate } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { writePeerAuthentications } from '../../local-cluster/manifests.js';
import type { PodGateTimings } from '../../local-cluster/pod-gate-call.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import {
  bundleLoadClient,
  failuresText,
  lineTime,
  FaultLoad,
  recoveryMs,
  reportFault,
  summarize,
  type ConnectionRecord,
  type FaultLoadSpec,
} from '../support/fault-load.js';
import { until } from '../support/until.js';
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
    { name: 'echo-1', namespace: 'open', node: 1 },
    { name: 'client-1', namespace: 'mesh', node: 1 },
    { name: 'client-2', namespace: 'mesh', node: 2 },
    { name: 'plain-2', namespace: 'plain', node: 2 },
    { name: 'server-2', namespace: 'open', node: 2 },
  ],
  services: [],
};
const NODE1_PODS = ['strict-1', 'echo-1', 'client-1'] as const;
/** The agent's pod starts after the pods' first attempts (its container start, image checks). */
const AGENT_LATE_MS = 2_500;
/** The ztunnel starts this long after client-1's load does (a slow image pull). */
const ZTUNNEL_LATE_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mesh load: long streams and short echoes; stopped by the test (durationMs is only a bound). */
const meshLoad = (host: string, short: number, long: number): FaultLoadSpec => ({
  host,
  port: ECHO_PORT,
  durationMs: 120_000,
  ...(long > 0
    ? { long: { count: long, chunk: 2048, intervalMs: 100, window: 65_536, lifetimeMs: 2_000 } }
    : {}),
  short: { perSecond: short, bytes: 512 },
  connectTimeoutMs: 1_000,
  stallMs: 5_000,
  drainMs: 5_000,
});

/** Plaintext probes from an unenrolled pod: a STRICT destination must refuse every one. */
const plaintextProbe = (host: string): FaultLoadSpec => ({
  host,
  port: ECHO_PORT,
  durationMs: 120_000,
  short: { perSecond: 5, bytes: 64 },
  connectTimeoutMs: 500,
  stallMs: 2_000,
  drainMs: 2_000,
});

describe.skipIf(!enabled)(
  'faults: a node reboots under traffic (everything on it dies, pods restart through the gate)',
  () => {
    let cluster: LocalCluster;
    let prefix = '';
    let work = '';
    let script = '';
    let controller: ManagedProcess | undefined;

    const cgroupOf = (pod: string) => cluster.podCgroup(cluster.pod(pod));
    const attachedTypes = (pod: string): string[] => {
      const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', cgroupOf(pod)], {
        encoding: 'utf8',
      }).trim();
      return (JSON.parse(out || '[]') as { attach_type: string }[]).map((a) => a.attach_type).sort();
    };
    const procsIn = (pod: string): string[] =>
      readFileSync(path.join(cgroupOf(pod), 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean);

    beforeAll(async () => {
      work = mkdtempSync(path.join(tmpdir(), 'ambit-faults-'));
      script = bundleLoadClient(work);
      cluster = await LocalCluster.create({ spec, signalHandlers: false });
      prefix = cluster.prefix;
      writePeerAuthentications(cluster.configDir, { mesh: 'STRICT' });
      controller = await cluster.startController();
      await cluster.startAgent(1);
      await cluster.startAgent(2);
      await cluster.startZtunnel(1);
      await cluster.startZtunnel(2);
    });

    afterAll(async () => {
      await cluster?.teardown();
      if (work) rmSync(work, { recursive: true, force: true });
      if (prefix) expect(leftovers(prefix)).toEqual([]);
    });

    it('no pod starts before its capture is back, STRICT never accepts plaintext, nothing bypasses or is lost', async () => {
      const toEcho = FaultLoad.start(cluster, script, 'client-2', meshLoad(cluster.pod('echo-1').ip, 8, 2));
      const toStrict = FaultLoad.start(
        cluster,
        script,
        'client-2',
        meshLoad(cluster.pod('strict-1').ip, 5, 0),
      );
      const plaintext = FaultLoad.start(
        cluster,
        script,
        'plain-2',
        plaintextProbe(cluster.pod('strict-1').ip),
      );
      await sleep(3_000);

      // power cut
      const rebootAt = Date.now();
      await cluster.powerOffNode(1);
      const deadPods = NODE1_PODS.filter((p) => procsIn(p).length > 0 || attachedTypes(p).length > 0);
      await sleep(1_000); // the node is down

      // boot: the kubelet restarts the pods at once (through the gate), the agent comes up meanwhile
      const bootAt = Date.now();
      const attachedAtPass = new Map<string, string[]>();
      const started = new Map<string, Promise<PodStartThroughGate>>();
      for (const pod of NODE1_PODS)
        started.set(
          pod,
          cluster.startPodThroughGate(pod, {
            onGatePassed: () => attachedAtPass.set(pod, attachedTypes(pod)),
          }),
        );
      // the client pod on node 1: its load is its container, started the moment its gate passes
      const afterBoot = (started.get('client-1') ?? Promise.reject(new Error('no client-1'))).then((s) => ({
        s,
        load: FaultLoad.start(cluster, script, 'client-1', meshLoad(cluster.pod('server-2').ip, 8, 1)),
      }));
      afterBoot.catch(() => undefined); // awaited below; a gate failure must not be unhandled meanwhile
      await sleep(AGENT_LATE_MS);
      const agentStartAt = Date.now();
      const agent = await cluster.startAgent(1);
      const restoreAt = lineTime(agent, /"msg":"restore cache applied"/);
      // the ztunnel comes up last, well after client-1 runs: the window a missing capture would leak in
      const { load: fromNode1 } = await afterBoot;
      await sleep(ZTUNNEL_LATE_MS);
      const ztunnelStartAt = Date.now();
      const ztunnel = await cluster.startZtunnel(1);
      const ztunnelReadyAt = lineTime(ztunnel, /"msg":"ztunnel ready"/);
      const pods = new Map<string, PodStartThroughGate>();
      for (const [pod, p] of started) pods.set(pod, await p);
      const nodeReadyAt = Math.max(ztunnelReadyAt, ...[...pods.values()].map((p) => p.appReadyAt));
      await sleep(4_000); // traffic on the booted node

      const [e, st, p, c1] = await Promise.all([
        toEcho.stop(),
        toStrict.stop(),
        plaintext.stop(),
        fromNode1.stop(),
      ]);
      const fromNode2 = [...e.connections, ...st.connections];
      const mesh = [...fromNode2, ...c1.connections];
      const s = summarize(mesh);
      const ok = (records: ConnectionRecord[], from: number, to: number) =>
        records.filter((c) => c.outcome === 'ok' && c.startAt >= from && c.startAt < to).length;
      const plainOk = {
        beforeReboot: ok(p.connections, 0, rebootAt),
        nodeDown: ok(p.connections, rebootAt, restoreAt),
        afterRestore: ok(p.connections, restoreAt, Infinity),
      };
      // client-1 started after its gate; no ztunnel ran on node 1 before ztunnelStartAt, so a
      // connection of it that succeeded before then went around the mesh
      const bypass = ok(c1.connections, 0, ztunnelStartAt);
      const c1Before = c1.connections.filter((c) => c.startAt < ztunnelStartAt);
      const afterReady = mesh.filter((c) => c.startAt >= nodeReadyAt);
      const gates = [...pods.values()].map((x) => x.gate);
      const rel = (t: number) => t - bootAt;
      const gateNote = (g: PodGateTimings) => ({
        firstAttemptMs: rel(g.firstAttemptAt),
        passedMs: rel(g.passedAt),
        attempts: g.attempts,
        refusals: g.refusals,
        from: /restore cache/.test(g.passedWith) ? 'restore cache' : 'mesh state',
      });
      reportFault({
        fault: 'node reboot (all node processes killed, pods restarted through the gate)',
        bytesLost: s.bytesLost,
        refused: s.refused,
        reset: s.reset,
        recoveryMs: recoveryMs(fromNode2, rebootAt) ?? null,
        notes: {
          ...s,
          msAfterBoot: {
            agentSpawn: rel(agentStartAt),
            agentRestore: rel(restoreAt),
            ztunnelSpawn: rel(ztunnelStartAt),
            ztunnelReady: rel(ztunnelReadyAt),
            nodeReady: rel(nodeReadyAt),
          },
          gate: Object.fromEntries(
            [...pods].map(([pod, x]) => [pod, { ...gateNote(x.gate), appReadyMs: rel(x.appReadyAt) }]),
          ),
          plaintextToStrictAccepted: plainOk,
          plaintextProbes: p.connections.length,
          node1ClientBeforeZtunnel: { connections: c1Before.length, bypassed: bypass },
          failedAfterNodeReady: afterReady.filter((c) => c.outcome !== 'ok').length,
          connectionsAfterNodeReady: afterReady.length,
        },
      });

      // the power cut took everything: no process, no attachment on node 1's pods
      expect(deadPods).toEqual([]);
      // every pod was tried before the agent ran, refused, and started only after its gate passed
      // with every program attached to its cgroup
      for (const [pod, x] of pods) {
        expect(x.gate.firstAttemptAt, pod).toBeLessThan(agentStartAt);
        expect(x.gate.refusals[0], pod).toBe('agent-unreachable');
        expect(x.gate.passedAt, pod).toBeGreaterThan(agentStartAt);
        expect(x.appStartedAt, pod).toBeGreaterThanOrEqual(x.gate.passedAt);
        expect(attachedAtPass.get(pod), pod).toEqual(attachedTypes(pod));
        expect(attachedTypes(pod), pod).toHaveLength(4);
      }
      expect(gates).toHaveLength(NODE1_PODS.length);
      // STRICT never accepted plaintext: before, while down, after
      expect(plainOk).toEqual({ beforeReboot: 0, nodeDown: 0, afterRestore: 0 });
      // no bypass: client-1's connects before the ztunnel ran were refused (fail closed)
      expect(c1Before.length).toBeGreaterThan(0);
      expect(bypass, failuresText(c1.connections, bootAt)).toBe(0);
      // from node 1's readiness on every new connection succeeds
      expect(
        afterReady.filter((c) => c.outcome !== 'ok'),
        failuresText(afterReady, nodeReadyAt),
      ).toEqual([]);
      expect(afterReady.length).toBeGreaterThan(0);
      expect(c1.connections.filter((c) => c.outcome === 'ok').length).toBeGreaterThan(0);
      // nothing lost, nothing hung
      expect(s.bytesLost, failuresText(mesh, rebootAt)).toBe(0);
      expect(s.lost).toBe(0);
      expect(s.hung, failuresText(mesh, rebootAt)).toBe(0);
    });

    it('with the controller down through the boot, the pods pass the gate on the restore cache alone', async () => {
      const plaintext = FaultLoad.start(
        cluster,
        script,
        'plain-2',
        plaintextProbe(cluster.pod('strict-1').ip),
      );
      await controller?.stop();
      await cluster.powerOffNode(1);
      const started = NODE1_PODS.map((pod) => cluster.startPodThroughGate(pod));
      await sleep(AGENT_LATE_MS);
      const agent = await cluster.startAgent(1, { waitFor: /"msg":"restore cache applied"/ });
      const pods = await Promise.all(started);
      // no controller and no ztunnel: client-1's connect is refused, never sent in plaintext
      const server = cluster.pod('server-2').ip;
      const early = await cluster.runInPod('client-1', server, ECHO_PORT, ['--timeout', '1000']);
      controller = await cluster.startController();
      await agent.waitForLine(/first mesh state applied/, 30_000);
      await cluster.startZtunnel(1);
      const late = await until(
        'client-1 to reach server-2 through the mesh',
        async () => {
          const r = await cluster.runInPod('client-1', server, ECHO_PORT, ['--timeout', '1000']);
          return r.ok ? r : undefined;
        },
        15_000,
        200,
      );
      const p = await plaintext.stop();
      const gates = pods.map((x) => ({
        pod: x.gate.pod,
        attempts: x.gate.attempts,
        refusals: x.gate.refusals,
        passed: x.gate.passedWith,
      }));
      console.log(
        `controller down through the boot: ${JSON.stringify(gates)}; client-1 before the ztunnel: ${early.error ?? 'ok'}`,
      );
      for (const x of pods) {
        expect(x.gate.passedWith, x.gate.pod).toMatch(/capture in place .*from the restore cache/);
        expect(x.gate.refusals.length, x.gate.pod).toBeGreaterThan(0);
        expect(x.appStartedAt).toBeGreaterThanOrEqual(x.gate.passedAt);
      }
      expect(early.ok, 'a connect that escaped capture reached server-2 in plaintext').toBe(false);
      expect(late.ok).toBe(true);
      expect(p.connections.filter((c) => c.outcome === 'ok')).toEqual([]);
      expect(p.connections.length).toBeGreaterThan(0);
    });
  },
);
