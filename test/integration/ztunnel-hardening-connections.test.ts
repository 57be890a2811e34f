// Issue 8, finding 2: 15008 (and SOCKS5) with no credential. Idle TCP connections that never
// send a byte used to hold a file descriptor each for Node's 120 s handshake timeout, until the
// process ran out of descriptors and HBONE, SOCKS5 and /healthz/ready all failed. Each case floods
// one real `ambit ztunnel` process and checks: it survives, its RSS stays under a bound, a
// legitimate tunnel (SOCKS5 on node-1 -> echo pod behind node-2) and /healthz/ready keep working
// during the flood, and ambit_ztunnel_limit_hits_total names the limit that held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { startNodeZtunnel } from '../support/ztunnel-pair.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import {
  idleConnections,
  legitRoundTrip,
  logLines,
  metricValue,
  readyStatus,
  watchRss,
} from '../support/attack-probe.js';
import { until } from '../support/until.js';

const P = '127.0.50';
const SOCKS = 15080;
/** node-1: caps lowered by flag so a CI-sized flood reaches them. */
const NODE1_LIMITS = [
  '--max-handshakes',
  '800',
  '--max-connections-per-source',
  '600',
  '--handshake-timeout',
  '4s',
];
/**
 * node-2: handshake and per-source caps out of the way, so the fd headroom is what holds. The
 * handshake timeout too: on a loaded CI machine the 2,000-connection flood took longer than the
 * default 5 s, the first idle connections were closed and their fds reused, and fewer were refused.
 */
const NODE2_LIMITS = [
  '--max-handshakes',
  '5000',
  '--max-connections-per-source',
  '5000',
  '--handshake-timeout',
  '60s',
];
const FD_LIMIT = 1500;
const RSS_BOUND_MB = 250;
let ctl: ControllerHarness;
let z1: ZtunnelProcess;
let z2: ZtunnelProcess;
let echo: net.Server;
const figures: Record<string, unknown>[] = [];

beforeAll(async () => {
  echo = await echoServer(`${P}.12`);
  const ports = { echo: (echo.address() as net.AddressInfo).port, halfClose: 1 };
  ctl = await startControllerHarness({ files: { 'mesh.yaml': ztunnelMeshYaml(P, ports) } });
  [z1, z2] = await Promise.all([
    startNodeZtunnel(ctl, 1, { prefix: P, socks5Port: SOCKS, extraArgs: NODE1_LIMITS }),
    startNodeZtunnel(ctl, 2, { prefix: P, extraArgs: NODE2_LIMITS }),
  ]);
}, 90_000);

afterAll(async () => {
  console.log(`hardening figures (connections): ${JSON.stringify(figures)}`);
  await Promise.all([z1?.stop(), z2?.stop()]);
  await ctl?.stop();
  echo?.close();
}, 30_000);

const legit = () =>
  legitRoundTrip(
    { host: `${P}.2`, port: SOCKS },
    { ip: `${P}.12`, port: (echo.address() as net.AddressInfo).port },
    `${P}.11`,
  );

async function hits(z: ZtunnelProcess, listener: string, limit: string): Promise<number> {
  return metricValue((await z.get('/metrics')).body, 'ambit_ztunnel_limit_hits_total', { listener, limit });
}

describe('idle connections that never send a byte', () => {
  it('15008: handshakes past --max-handshakes (from several sources) are closed at once, the rest by the handshake timeout', async () => {
    await legit(); // warm the pool
    const rss = watchRss(z1.child.pid);
    // 500 from each of four sources: under the per-source cap, over the listener's handshake cap.
    const floods = await Promise.all(
      [30, 31, 32, 33].map((h) => idleConnections(`${P}.2`, 15008, 500, `${P}.${h}`)),
    );
    const flood = {
      sockets: floods.flatMap((f) => f.sockets),
      closedByServer: () => floods.reduce((n, f) => n + f.closedByServer(), 0),
    };
    // During the flood: a new tunnel through node-1 and its readiness still work.
    const legitMs = await legit();
    expect(await readyStatus(z1)).toBe(200);
    expect(await hits(z1, 'hbone', 'handshakes')).toBeGreaterThanOrEqual(500);
    // The admitted ones are closed by the 4 s handshake timeout.
    await until('every idle connection closed by node-1', () => flood.closedByServer() === 2000, 10_000);
    expect(await hits(z1, 'hbone', 'handshake-timeout')).toBeGreaterThanOrEqual(1);
    // Logged once per peer per minute (four peers), counted every time.
    expect(logLines(z1, /hbone: handshakes limit hit/).length).toBeLessThanOrEqual(4);
    const peak = rss.stop();
    figures.push({
      attack: 'idle 15008 (handshake cap)',
      sent: 2000,
      survived: z1.child.exitCode === null,
      peak,
      legitMs,
    });
    expect(z1.child.exitCode).toBeNull();
    expect(peak).toBeLessThan(RSS_BOUND_MB);
    for (const s of flood.sockets) s.destroy();
  });

  it('SOCKS5: one source past --max-connections-per-source is refused; other sources are not', async () => {
    const rss = watchRss(z1.child.pid);
    const flood = await idleConnections(`${P}.2`, SOCKS, 1000, `${P}.31`);
    const legitMs = await legit();
    expect(await readyStatus(z1)).toBe(200);
    expect(await hits(z1, 'socks5', 'connections-per-source')).toBeGreaterThanOrEqual(400);
    // The SOCKS5 greeting never came: the handshake timeout closes the admitted 600 too.
    await until('every idle SOCKS5 connection closed', () => flood.closedByServer() === 1000, 10_000);
    expect(await hits(z1, 'socks5', 'handshake-timeout')).toBeGreaterThanOrEqual(600);
    expect(logLines(z1, /socks5: connections-per-source limit hit/)).toHaveLength(1);
    const peak = rss.stop();
    figures.push({
      attack: 'idle SOCKS5 (per-source cap)',
      sent: 1000,
      survived: z1.child.exitCode === null,
      peak,
      legitMs,
    });
    expect(z1.child.exitCode).toBeNull();
    expect(peak).toBeLessThan(RSS_BOUND_MB);
    for (const s of flood.sockets) s.destroy();
  });

  it(`15008 with RLIMIT_NOFILE lowered to ${FD_LIMIT}: the fd reserve refuses new inbound connections, dials and readiness keep working`, async () => {
    await legit(); // the pooled connection node-1 -> node-2 exists before the flood
    execFileSync('prlimit', ['--pid', String(z2.child.pid), `--nofile=${FD_LIMIT}:${FD_LIMIT}`]);
    await until('node-2 sees the lowered fd limit', async () =>
      metricValue((await z2.get('/metrics')).body, 'ambit_ztunnel_fd_limit') === FD_LIMIT ? true : undefined,
    );
    const rss = watchRss(z2.child.pid);
    const flood = await idleConnections(`${P}.3`, 15008, 2000, `${P}.30`);
    // During the flood: the pooled tunnel still dials the echo pod (an fd from the reserve), and
    // node-2's readiness answers.
    const legitMs = await legit();
    expect(await readyStatus(z2)).toBe(200);
    const refused = await hits(z2, 'hbone', 'fd-reserve');
    // 2,000 idle connections against 1,500 fds less the 256 reserve: measured 484-786 refused
    // (alone 786; after the file's other floods and on a loaded CI machine as few as 484 - the
    // count depends on how many of the flood's connections are open at once, not investigated
    // further); the point is that the reserve refuses while dials and readiness keep working
    expect(refused).toBeGreaterThanOrEqual(300);
    expect(logLines(z2, /hbone: fd-reserve limit hit/).length).toBeGreaterThanOrEqual(1);
    const peak = rss.stop();
    figures.push({
      attack: `idle 15008 (fd limit ${FD_LIMIT})`,
      sent: 2000,
      refused,
      survived: z2.child.exitCode === null,
      peak,
      legitMs,
    });
    expect(z2.child.exitCode).toBeNull();
    expect(peak).toBeLessThan(RSS_BOUND_MB);
    for (const s of flood.sockets) s.destroy();
  });
});
