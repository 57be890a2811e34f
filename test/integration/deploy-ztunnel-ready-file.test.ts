// The process side of the ztunnel DaemonSet's readiness probe (deploy/daemonset/ztunnel.yaml runs
// `test -e` on `ambit ztunnel --ready-file`): real ztunnels against a real controller on loopback.
// The file appears once the process is ready (replacing one a killed predecessor left), is gone
// from the moment SIGTERM starts the drain while an established connection still runs through the
// old process, and with --workers the primary keeps it for all workers. A directory it cannot
// write in ends `ambit ztunnel` at once with one line naming the flag.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { socks5Connect } from '../support/socks5-client.js';
import { echoServer } from '../support/two-node-mesh.js';
import { until } from '../support/until.js';
import { startNodeZtunnel } from '../support/ztunnel-pair.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';

const P = '127.0.177';
const SOCKS = 15080;
let ctl: ControllerHarness;
let echo: net.Server;
let dir: string;
const started: ZtunnelProcess[] = [];

const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
const exited = (z: ZtunnelProcess) => z.child.exitCode !== null || z.child.signalCode !== null;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ambit-ready-file-it-'));
  echo = await echoServer(`${P}.12`);
  ctl = await startControllerHarness({
    files: { 'mesh.yaml': ztunnelMeshYaml(P, { echo: port(echo), halfClose: 1 }) },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((z) => z.stop()));
  await ctl?.stop();
  echo?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function ztunnel(n: 1 | 2, extraArgs: string[], socks5Port?: number): Promise<ZtunnelProcess> {
  const z = await startNodeZtunnel(ctl, n, { prefix: P, extraArgs, socks5Port, workers: 1 });
  started.push(z);
  return z;
}

/** Writes `text` and resolves with the first chunk read back; rejects after 10 s (never hangs). */
function roundTrip(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, d?: Buffer) => {
      clearTimeout(t);
      s.off('error', done);
      s.off('data', onData);
      if (err) reject(err);
      else resolve(d?.toString() ?? '');
    };
    const onData = (d: Buffer) => done(undefined, d);
    const t = setTimeout(() => done(new Error(`no echo of ${JSON.stringify(text)} within 10 s`)), 10_000);
    s.on('error', done);
    s.on('data', onData);
    s.write(text);
  });
}

describe('ambit ztunnel --ready-file', () => {
  it('is written by the ready process, and removed when SIGTERM starts the drain', async () => {
    const file = path.join(dir, 'node-1', 'ready');
    mkdirSync(path.dirname(file)); // the pod's emptyDir
    await ztunnel(2, []);
    const z1 = await ztunnel(1, ['--ready-file', file, '--drain-limit', '30s'], SOCKS);
    await until('the ready file', () => existsSync(file), 10_000);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: z1.child.pid });

    // an established tunnel keeps the draining process alive (until the drain limit)
    const s = await socks5Connect(
      { host: `${P}.2`, port: SOCKS },
      { ip: `${P}.12`, port: port(echo) },
      `${P}.11`,
    );
    s.resume(); // socks5Connect hands the socket over paused
    try {
      expect(await roundTrip(s, 'before')).toBe('before');
      z1.child.kill('SIGTERM');
      await until('the ztunnel logs its drain', () => z1.output().includes('ztunnel draining'), 10_000);
      expect(existsSync(file)).toBe(false);
      expect(exited(z1)).toBe(false);
      expect(await roundTrip(s, 'while draining')).toBe('while draining');
    } finally {
      s.destroy();
    }
    await until('the drained ztunnel exits', () => exited(z1), 20_000);
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it('replaces a stale file, and with --workers the primary keeps it for all workers', async () => {
    const file = path.join(dir, 'workers', 'ready');
    // a file left by a killed predecessor in the same emptyDir must not count for this process
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{"pid":1}\n');
    const z = await startNodeZtunnel(ctl, 1, { prefix: P, workers: 2, extraArgs: ['--ready-file', file] });
    started.push(z);
    await until(
      'the primary writes the ready file',
      () => existsSync(file) && readFileSync(file, 'utf8').includes(String(z.child.pid)),
      10_000,
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: z.child.pid });
    await z.stop();
    expect(existsSync(file)).toBe(false);
  }, 60_000);

  it.each([1, 2])(
    'a directory it cannot write in ends the ztunnel (--workers %i) with one line naming the flag',
    async (workers) => {
      const r = await runCli(
        [
          'ztunnel',
          '--node',
          'node-1',
          '--controller',
          ctl.address,
          '--state-dir',
          ctl.stateDir,
          '--address',
          `${P}.2`,
          '--workers',
          String(workers),
          '--ready-file',
          path.join(dir, 'no-such-dir', 'ready'),
        ],
        { timeoutMs: 20_000 },
      );
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ambit: ZT_BAD_FLAG: --ready-file: cannot write in .*no-such-dir/);
    },
    30_000,
  );
});
