// The controller down for two minutes under mesh traffic (issue 11 item 2), on the local cluster:
// a client pod on node 1 keeps long connections streaming and opens new ones to an echo pod on
// node 2 while the controller is stopped. The ztunnels and agents run on their last state: no
// connection refused, reset or lost. The ztunnels ask for 6-minute workload certificates (the
// shortest `--cert-ttl` allows: renewal due 30 s after issuance), so the renewal comes due during
// the outage: it must retry with growing backoff while keeping the current certificate (never
// "expired"), and renew once the controller is back. The outage is
// $AMBIT_FAULT_CONTROLLER_DOWN_MS (default 120000, as the issue says; CI runs the default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, meshAndPlainSpec } from '../../local-cluster/topology.js';
import {
  bundleLoadClient,
  failuresText,
  FaultLoad,
  recoveryMs,
  reportFault,
  summarize,
} from '../support/fault-load.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();
const DOWN_MS = Number(process.env.AMBIT_FAULT_CONTROLLER_DOWN_MS ?? 120_000);

const spec = meshAndPlainSpec([
  { name: 'client-1', namespace: 'mesh', node: 1 },
  { name: 'server-2', namespace: 'mesh', node: 2 },
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RenewalLine {
  msg: string;
  time: number;
  identity?: string;
  retryInMs?: number;
  expired?: boolean;
}

function renewalLines(z: ManagedProcess): RenewalLine[] {
  return z.lines
    .filter((l) => l.includes('certificate renewal failed') || l.includes('"msg":"certificate rotated"'))
    .map((l) => JSON.parse(l) as RenewalLine);
}

describe.skipIf(!enabled)('faults: the controller down under load', () => {
  let cluster: LocalCluster;
  let prefix = '';
  let work = '';
  let script = '';
  let controller: ManagedProcess | undefined;
  const ztunnels: ManagedProcess[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'ambit-faults-'));
    script = bundleLoadClient(work);
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    controller = await cluster.startController();
    for (const n of cluster.topology.nodes) await cluster.startAgent(n.index);
    for (const n of cluster.topology.nodes)
      ztunnels.push(await cluster.startZtunnel(n.index, ['--cert-ttl', '6m']));
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it(`connections keep working for ${DOWN_MS / 1000} s without the controller; renewal retries with backoff and no certificate lapses`, async () => {
    const z1 = ztunnels[0];
    if (!z1) throw new Error('no ztunnel on node 1');
    const run = FaultLoad.start(cluster, script, 'client-1', {
      host: cluster.pod('server-2').ip,
      port: ECHO_PORT,
      durationMs: DOWN_MS + 12_000,
      // long connections that span the whole outage, and new ones at a modest rate throughout
      long: { count: 4, chunk: 2048, intervalMs: 100, window: 65_536, lifetimeMs: 0 },
      short: { perSecond: 5, bytes: 1024 },
      connectTimeoutMs: 2_000,
      stallMs: 5_000,
      drainMs: 5_000,
    });
    await sleep(3_000);
    const downAt = Date.now();
    await controller?.stop();
    expect(controller?.running).toBe(false);
    await sleep(DOWN_MS);
    const backAt = Date.now();
    controller = await cluster.startController();
    const r = await run.result(60_000);
    // the renewal that failed during the outage succeeds on its next retry (at most the 60 s cap)
    await until(
      'a workload certificate renewed after the controller came back',
      () => renewalLines(z1).some((l) => l.msg === 'certificate rotated' && l.time >= backAt),
      70_000,
      500,
    );
    const lines = renewalLines(z1);
    const failed = lines.filter((l) => l.msg.startsWith('certificate renewal failed'));
    const renewed = lines.find((l) => l.msg === 'certificate rotated' && l.time >= backAt);
    const all = r.connections;
    const s = summarize(all);
    reportFault({
      fault: `controller down ${DOWN_MS / 1000} s`,
      bytesLost: s.bytesLost,
      refused: s.refused,
      reset: s.reset,
      recoveryMs: recoveryMs(all, downAt) ?? null,
      notes: {
        ...s,
        renewalRetries: failed.length,
        retryInMs: failed.map((l) => l.retryInMs),
        anyExpired: failed.some((l) => l.expired === true),
        renewedMsAfterControllerBack: renewed ? renewed.time - backAt : null,
      },
    });
    expect(s.bytesLost, failuresText(all, downAt)).toBe(0);
    expect(s.refused, failuresText(all, downAt)).toBe(0);
    expect(s.reset, failuresText(all, downAt)).toBe(0);
    expect(s.hung, failuresText(all, downAt)).toBe(0);
    expect(s.lost).toBe(0);
    expect(
      all.filter((c) => c.kind === 'short' && c.startAt > downAt && c.startAt < backAt).length,
    ).toBeGreaterThan(0);
    expect(all.filter((c) => c.kind === 'long' && c.startAt < downAt && c.endAt > backAt).length).toBe(4);
    // renewal came due in the outage and was retried with a growing backoff, the old certificate kept
    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed.every((l) => l.expired === false)).toBe(true);
    const waits = failed.map((l) => l.retryInMs ?? 0);
    expect(Math.max(...waits)).toBeGreaterThan(waits[0] ?? 0);
    expect(renewed).toBeDefined();
  });
});
