// `ambit ztunnel` start-up through the real CLI: a flag or a port that makes a worker fail ends
// the whole process with one line and a non-zero exit (no worker restarted forever), and with
// --workers the per-worker gauges are not summed at the primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { runCli, startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { startZtunnelProcess } from '../support/ztunnel-process.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';

const P = '127.0.81';
let ctl: ControllerHarness;

beforeAll(async () => {
  ctl = await startControllerHarness({
    files: { 'mesh.yaml': ztunnelMeshYaml(P, { echo: 7000, halfClose: 7001 }) },
  });
}, 60_000);

afterAll(async () => {
  await ctl?.stop();
}, 30_000);

const base = (address: string) => [
  'ztunnel',
  '--node',
  'node-1',
  '--controller',
  ctl.address,
  '--state-dir',
  ctl.stateDir,
  '--address',
  address,
  '--mesh-address',
  address,
];

describe('ambit ztunnel start-up failures', () => {
  it('a bad --original-destination-map fails at once with one line', async () => {
    const r = await runCli([...base(`${P}.2`), '--workers', '2', '--original-destination-map', 'nonsense'], {
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ambit: ZT_BAD_FLAG: --original-destination-map: bad entry nonsense/);
  }, 30_000);

  it('a bad --drain-limit fails at once with one line naming the flag', async () => {
    const r = await runCli([...base(`${P}.2`), '--drain-limit', 'soon'], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ambit: ZT_BAD_FLAG: --drain-limit: expected a duration like 30s, 5m, 1h; got soon/,
    );
  }, 30_000);

  it('with --workers 2, a port held by another process ends the ztunnel with the worker cause', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen({ host: `${P}.4`, port: 15008 }, resolve));
    try {
      const t0 = Date.now();
      const r = await runCli([...base(`${P}.4`), '--workers', '2', '--log-level', 'silent'], {
        timeoutMs: 40_000,
      });
      expect(r.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(40_000);
      const last = r.stderr.trim().split('\n').at(-1)!;
      expect(last).toMatch(/^ambit: ZT_WORKER_START: ztunnel worker \d failed to start: /);
      // the held address itself, not any text that merely contains "15008"
      const held = new RegExp(`(^|[^\\d.])${P.replaceAll('.', '\\.')}\\.4:15008($|\\D)`);
      expect(last).toMatch(held);
    } finally {
      holder.close();
    }
  }, 60_000);
});

describe('ambit ztunnel --workers 2 metrics', () => {
  it('reports the soonest certificate expiry and one worker snapshot count, not their sums; status lists each worker', async () => {
    const z = await startZtunnelProcess({
      node: 'node-1',
      controller: ctl.address,
      stateDir: ctl.stateDir,
      address: `${P}.2`,
      workers: 2,
      logLevel: 'warn',
    });
    try {
      const body = (await z.get('/metrics')).body;
      const values = (name: string) =>
        body
          .split('\n')
          .filter((l) => l.startsWith(name))
          .map((l) => Number(l.split(' ').at(-1)));
      const expiry = values('ambit_ztunnel_certificate_expiry_seconds');
      expect(expiry.length).toBeGreaterThan(0);
      // 24 h certificates: a sum over two workers would read about 48 h
      for (const v of expiry) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(24 * 3600);
      }
      const updates = values('ambit_ztunnel_snapshot_updates');
      expect(updates).toHaveLength(1);
      expect(updates[0]).toBeGreaterThanOrEqual(1);
      expect(updates[0]).toBeLessThan(2 * 2);
      // each worker holds its own discovery stream and `ambit status` lists both
      const st = await runCli([
        'status',
        '--controller',
        ctl.address,
        '--state-dir',
        ctl.stateDir,
        '-o',
        'json',
      ]);
      expect(st.code).toBe(0);
      const subs = (
        JSON.parse(st.stdout) as { subscribers: { kind: string; node?: string; name?: string }[] }
      ).subscribers
        .filter((x) => x.kind === 'ztunnel' && x.node === 'node-1')
        .map((x) => x.name)
        .sort();
      expect(subs).toEqual(['worker-1', 'worker-2']);
    } finally {
      await z.stop();
    }
  }, 60_000);
});
