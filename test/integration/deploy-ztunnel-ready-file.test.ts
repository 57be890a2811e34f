// The process side of the ztunnel DaemonSet's readiness probe (deploy/daemonset/ztunnel.yaml runs
// `test -e` on `ambit ztunnel --ready-file`): real ztunnels against a real controller on loopback.
// The file appears once the process is ready (replacing one a killed predecessor left), is gone
// from the moment SIGTERM starts the drain while an established connection still runs through the
// old process, and with --workers the primary keeps it for all workers. A directory it cannot
// write in ends `ambit ztunnel` at once with one line naming the flag. And the rollout the
// DaemonSet does, played by hand on one node under load: the new ztunnel starts beside the old one
// (SO_REUSEPORT), its ready file is the probe, only then is the old one sent SIGTERM; no new
// connection is refused or reset and the long one opened before keeps flowing through the drain.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { socks5Connect, Socks5Refused } from '../support/socks5-client.js';
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

let node2: Promise<ZtunnelProcess> | undefined;
/** node-2's ztunnel (the destination side), started once for the tests that tunnel through it. */
const ensureNode2 = () => (node2 ??= ztunnel(2, []));

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
    await ensureNode2();
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

/** What the load saw: echoed whole, refused (ECONNREFUSED), reset, or anything else (named). */
interface LoadCounts {
  ok: number;
  refused: number;
  reset: number;
  other: string[];
}

/** A pacing delay between new connections, never a wait for a condition (use until()). */
const pace = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Within `ms`, or rejects naming `what` (socks5Connect has no timeout of its own). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** New connections through node-1's SOCKS5 front door to the echo pod, two at a time, until stopped. */
function startLoad(): { stop(): Promise<LoadCounts> } {
  const counts: LoadCounts = { ok: 0, refused: 0, reset: 0, other: [] };
  let running = true;
  let n = 0;
  const once = async () => {
    const text = `connection ${n++}`;
    let s: net.Socket | undefined;
    try {
      s = await within(
        socks5Connect({ host: `${P}.2`, port: SOCKS }, { ip: `${P}.12`, port: port(echo) }, `${P}.11`),
        10_000,
        'SOCKS5 CONNECT',
      );
      s.resume();
      const got = await roundTrip(s, text);
      if (got === text) counts.ok++;
      else counts.other.push(`echo ${JSON.stringify(got)} for ${JSON.stringify(text)}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED') counts.refused++;
      else if (code === 'ECONNRESET' || code === 'EPIPE') counts.reset++;
      else
        counts.other.push(
          err instanceof Socks5Refused ? err.message : `${code ?? ''} ${(err as Error).message}`,
        );
    } finally {
      s?.destroy();
    }
  };
  const loop = async () => {
    while (running) {
      await once();
      await pace(20);
    }
  };
  const loops = [loop(), loop()];
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

describe('the DaemonSet rollout, played on one node', () => {
  it('new ztunnel beside the old, Ready by its file, then SIGTERM to the old: nothing refused or reset', async () => {
    await ensureNode2();
    const podDir = (name: string) => {
      const d = path.join(dir, name);
      mkdirSync(d);
      return path.join(d, 'ready');
    };
    const args = (readyFile: string) => ['--ready-file', readyFile, '--drain-limit', '20s'];
    const oldFile = podDir('old-pod');
    const old = await ztunnel(1, args(oldFile), SOCKS);
    await until('the old pod Ready', () => existsSync(oldFile), 10_000);

    const long = await socks5Connect(
      { host: `${P}.2`, port: SOCKS },
      { ip: `${P}.12`, port: port(echo) },
      `${P}.11`,
    );
    long.resume();
    const load = startLoad();
    let counts: LoadCounts | undefined;
    try {
      expect(await roundTrip(long, 'long, before')).toBe('long, before');
      await pace(500);
      // 1. the surge pod: same node, same ports (SO_REUSEPORT), its own emptyDir. Its 15021 check
      //    in startNodeZtunnel may well be answered by the old process: the file is the probe.
      const newFile = podDir('new-pod');
      const fresh = await ztunnel(1, args(newFile), SOCKS);
      await until('the new pod Ready (its own ready file)', () => existsSync(newFile), 20_000);
      expect(JSON.parse(readFileSync(newFile, 'utf8'))).toMatchObject({ pid: fresh.child.pid });
      await pace(500);
      // 2. the DaemonSet controller deletes the old pod: SIGTERM, the drain
      old.child.kill('SIGTERM');
      await until('the old pod not Ready', () => !existsSync(oldFile), 10_000);
      expect(exited(old)).toBe(false);
      expect(await roundTrip(long, 'long, while draining')).toBe('long, while draining');
      await pace(500);
      long.destroy();
      await until('the old ztunnel exits once its last connection ends', () => exited(old), 20_000);
      await pace(500);
      expect(existsSync(newFile)).toBe(true);
    } finally {
      long.destroy();
      counts = await load.stop();
    }
    console.log(`rollout load: ${JSON.stringify(counts)}`);
    expect(counts.other).toEqual([]);
    expect(counts.refused).toBe(0);
    expect(counts.reset).toBe(0);
    expect(counts.ok).toBeGreaterThan(20);
  }, 90_000);
});
