// Discovery end to end: a real controller process, two DiscoveryClient subscribers (a ztunnel on
// node-1 and an agent on node-2, each bootstrapping its node identity with the join token). An
// edit reaches both as a delta; a subscriber whose onState throws NACKs and `ambit status` shows
// it; killing and restarting the controller makes both resync to the same state. Each holds
// exactly its own view (viewFor) of the state the controller published.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryClient } from '../../core/discovery/client.js';
import type { MeshState } from '../../core/model/mesh.js';
import { viewFor } from '../../core/discovery/view-for.js';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { SAMPLE_PODS, sampleMeshYaml } from '../support/controller-fixtures.js';

interface Seen {
  state?: MeshState;
  version?: string;
  count: number;
}

function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (pred()) return resolve();
      if (Date.now() - t0 > timeoutMs)
        return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('controller discovery', () => {
  let ctl: ControllerHarness;
  const clients: DiscoveryClient[] = [];
  const seen: Seen[] = [{ count: 0 }, { count: 0 }];
  let nacker: DiscoveryClient;
  let nackerApplied = 0;

  beforeAll(async () => {
    ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml() }, logLevel: 'debug' });
    const subs = [
      { kind: 'ztunnel' as const, node: 'node-1' },
      { kind: 'agent' as const, node: 'node-2' },
    ];
    subs.forEach((subscriber, i) => {
      clients.push(
        new DiscoveryClient({
          controller: ctl.address,
          stateDir: ctl.stateDir,
          subscriber,
          onState: (state, version) => {
            const s = seen[i]!;
            s.state = state;
            s.version = version;
            s.count++;
          },
        }),
      );
    });
    // a third subscriber that accepts the first snapshot and rejects everything after it
    nacker = new DiscoveryClient({
      controller: ctl.address,
      stateDir: ctl.stateDir,
      subscriber: { kind: 'agent', node: 'node-1' },
      onState: () => {
        if (nackerApplied++ > 0) throw new Error('agent node-1 cannot apply this push (test NACK)');
      },
    });
    await Promise.all([...clients, nacker].map((c) => c.start()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...clients, nacker].map((c) => c?.close()));
    await ctl?.stop();
  }, 30_000);

  /** The state the controller published now, as `ambit config dump` shows it. */
  const published = async (): Promise<MeshState> =>
    (JSON.parse((await ctl.cli(['config', 'dump', '-o', 'json'])).stdout) as { state: MeshState }).state;

  it('gives both subscribers their view of the same full snapshot first', async () => {
    expect(seen[0]!.version).toBeTruthy();
    expect(seen[0]!.version).toBe(seen[1]!.version);
    expect(seen[0]!.state!.workloads.map((w) => w.name).sort()).toEqual(
      SAMPLE_PODS.map((p) => p.name).sort(),
    );
    const state = await published();
    expect(seen[0]!.state).toEqual(viewFor({ kind: 'ztunnel', node: 'node-1' }, state));
    expect(seen[1]!.state).toEqual(viewFor({ kind: 'agent', node: 'node-2' }, state));
  });

  it('delivers an edit to both subscribers as a delta within 1 s', async () => {
    const before = seen.map((s) => s.count);
    const mark = ctl.logMark();
    ctl.writeFile('mesh.yaml', sampleMeshYaml({ cartPort: 8081 }));
    const published = await ctl.waitForLog('mesh state published', { since: mark, timeoutMs: 5_000 });
    await waitFor(
      () => seen.every((s, i) => s.count > before[i]! && s.version === published.version),
      1_000,
      'the delta on both',
    );
    for (const s of seen) {
      expect(s.state!.services.find((x) => x.name === 'cart')!.ports[0]!.port).toBe(8081);
    }
    // the controller sent each subscriber a delta with only the changed Service, not a snapshot
    await ctl.waitForLog('subscriber NACKed a push; it keeps its last applied state', { since: mark });
    const pushes = ctl
      .logs()
      .split('\n')
      .filter((l) => l.includes('"msg":"push"') && l.includes(String(published.version)))
      .map((l) => JSON.parse(l) as { full: boolean; upserts: number; removals: number });
    expect(pushes).toHaveLength(3);
    for (const p of pushes) expect(p).toMatchObject({ full: false, upserts: 1, removals: 0 });
  });

  it('coalesces a burst of edits into one push per subscriber carrying the newest version', async () => {
    const mark = ctl.logMark();
    const before = seen.map((s) => s.count);
    for (const port of [7001, 7002, 7003, 7004, 7005])
      ctl.writeFile('mesh.yaml', sampleMeshYaml({ cartPort: port }));
    const published = await ctl.waitForLog('mesh state published', { since: mark, timeoutMs: 5_000 });
    await waitFor(() => seen.every((s) => s.version === published.version), 5_000, 'the burst to arrive');
    for (const s of seen) expect(s.state!.services.find((x) => x.name === 'cart')!.ports[0]!.port).toBe(7005);
    expect(seen.map((s, i) => s.count - before[i]!)).toEqual([1, 1]);
    const pushes = ctl
      .logs()
      .split('\n')
      .filter((l) => l.includes('"msg":"push"') && l.includes('"subscriber":"ztunnel node-1"'));
    expect(pushes.filter((l) => l.includes(String(published.version)))).toHaveLength(1);
  });

  it('shows each subscriber with its last ACK, and the NACK with the error of the one that rejected it', async () => {
    const r = await ctl.cli(['status', '-o', 'json']);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as {
      configVersion: string;
      subscribers: {
        kind: string;
        node: string;
        lastAckedVersion?: string;
        lastNackVersion?: string;
        lastNackError?: string;
      }[];
    };
    const by = (kind: string, node: string) =>
      status.subscribers.find((s) => s.kind === kind && s.node === node)!;
    expect(by('ztunnel', 'node-1').lastAckedVersion).toBe(status.configVersion);
    expect(by('agent', 'node-2').lastAckedVersion).toBe(status.configVersion);
    expect(by('agent', 'node-1')).toMatchObject({
      lastNackVersion: status.configVersion,
      lastNackError: 'agent node-1 cannot apply this push (test NACK)',
    });
    expect(by('agent', 'node-1').lastAckedVersion).not.toBe(status.configVersion);
    const text = await ctl.cli(['status']);
    expect(text.stdout).toContain(`NACK ${status.configVersion}`);
    expect(text.stdout).toContain('agent node-1 cannot apply this push (test NACK)');
  });

  it('resyncs both subscribers to the same state after the controller is killed and restarted', async () => {
    const version = seen[0]!.version;
    await ctl.restart();
    // change the config while they reconnect: they must converge on the new version
    ctl.writeFile('mesh.yaml', sampleMeshYaml({ cartPort: 9090 }));
    await waitFor(
      () => seen.every((s) => s.state?.services.find((x) => x.name === 'cart')?.ports[0]?.port === 9090),
      15_000,
      'both subscribers to resync',
    );
    expect(seen[0]!.version).not.toBe(version);
    expect(seen[0]!.version).toBe(seen[1]!.version);
    const state = await published();
    expect(seen[0]!.state).toEqual(viewFor({ kind: 'ztunnel', node: 'node-1' }, state));
    expect(seen[1]!.state).toEqual(viewFor({ kind: 'agent', node: 'node-2' }, state));
  });
});
