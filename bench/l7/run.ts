// bench/l7: HTTP/1.1 keep-alive GETs of a 1 KB response measured four ways in one run: direct to
// the backend, through Debian's nginx (reverse proxy, keep-alive upstream, retries), through
// ztunnel -> waypoint -> ztunnel (the L7 mesh path) and through ztunnel -> ztunnel (L4 only).
// For each: the maximum (closed loop), p50/p99 at fixed rates (open loop; 100, 1,000 and 5,000
// req/s), and the proxies' CPU (utime+stime from /proc) and RSS; then the waypoint's CPU per 1,000
// req/s and RSS against issue 9's aims, and one JSON line.
// Run: npm run build && node dist/bench/l7/run.js [--quick] [--only direct|nginx|waypoint|ztunnel]
// [--rates 100,1000,5000] [--cpu-prof DIR (profiles the waypoint)]
// Loopback only (127.0.70.x). About 3 minutes (--quick: about 1).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startControllerHarness, type ControllerHarness } from '../../test/support/controller-harness.js';
import { until } from '../../test/support/until.js';
import { startWaypointProcess, type WaypointProcess } from '../../test/support/waypoint-processes.js';
import { startZtunnelPair, type ZtunnelPair } from '../../test/support/ztunnel-pair.js';
import { directDialer, fixedDialer, socks5Dialer } from '../l4/load.js';
import { cpuSeconds, rssBytes, tree } from '../l4/proc-stats.js';
import { fixedRate, maxThroughput, type HttpTarget, type LoadResult } from './load.js';
import { l7MeshYaml, WAYPOINT } from './mesh-yaml.js';
import { nginxMissing, startNginxProxy } from './nginx-proxy.js';
import { AIMS, judge, type PathResult, type RateResult } from './report.js';
import { printReport } from './print-report.js';

const P = '127.0.70';
const CLIENT = `${P}.11`;
const BACKEND = `${P}.12`;
const NGINX = { ip: `${P}.4`, port: 18080 };
const SOCKS5 = { ip: `${P}.2`, port: 15080 };
const QUICK = process.argv.includes('--quick');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
/** --only direct|nginx|waypoint|ztunnel: one row (for iterating on one path). */
const ONLY = arg('--only');
const want = (row: string) => ONLY === undefined || ONLY === row;
const RATES = (arg('--rates') ?? '100,1000,5000').split(',').map(Number);
const SECONDS = QUICK ? 1 : 3;
/** p99 of one short run on 2 shared cores swings with one scheduling hiccup: median of 3 runs. */
const RUNS = QUICK ? 1 : 3;
const MAX_SECONDS = QUICK ? 2 : 5;
const MAX_CONNECTIONS = 32;
/** --cpu-prof DIR: the waypoint writes a V8 CPU profile there when it exits (open in DevTools). */
const CPU_PROF = arg('--cpu-prof');

type Row = 'direct' | 'nginx' | 'waypoint' | 'ztunnel';

interface Measured {
  target: HttpTarget;
  /** Process groups whose CPU and RSS are measured (all of them make the path's figure). */
  groups: Record<string, () => number[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function startBackend(): Promise<{ port: number; child: ChildProcess }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, [path.join(here, 'backend.js'), BACKEND], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout }).once('line', resolve),
  );
  return { ...(JSON.parse(line) as { port: number }), child };
}

function groupStats(
  groups: Record<string, () => number[]>,
): () => Record<string, { cpu: number; rss: number }> {
  return () =>
    Object.fromEntries(
      Object.entries(groups).map(([k, pids]) => {
        const all = pids().flatMap((p) => tree(p));
        return [k, { cpu: cpuSeconds(all), rss: rssBytes(all) }];
      }),
    );
}

/** CPU seconds per wall second of each group between two readings. */
function vcpu(
  a: Record<string, { cpu: number }>,
  b: Record<string, { cpu: number }>,
  seconds: number,
): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k]?.cpu ?? 0) - (a[k]?.cpu ?? 0)) / seconds]));
}

function brief(r: LoadResult): string {
  const bad = Object.entries(r.statuses).map(([s, n]) => `${n}x${s}`);
  return `${r.rps.toFixed(0)} req/s p99 ${r.p99ms.toFixed(2)} ms${r.failed ? ` ${r.failed} failed` : ''}${bad.length ? ` ${bad.join(' ')}` : ''}`;
}

async function measure(name: Row, m: Measured): Promise<PathResult> {
  const stats = groupStats(m.groups);
  const log = (s: string) => process.stderr.write(`[bench/l7] ${name}: ${s}\n`);
  // Warm up every path the same way (pools, JIT, heap growth) before measuring it.
  await fixedRate(m.target, { rate: 1000, seconds: QUICK ? 0.5 : 2 });
  await maxThroughput(m.target, { connections: MAX_CONNECTIONS, seconds: 1 });
  await sleep(200);
  // The maximum first: a closed loop never overloads, while a fixed rate above what a path
  // sustains (the waypoint at 5,000 req/s) leaves it a backlog of abandoned requests that it
  // kept forwarding for seconds after the client left, which would be measured as its maximum.
  const m0 = stats();
  const mt0 = process.hrtime.bigint();
  const max = await maxThroughput(m.target, { connections: MAX_CONNECTIONS, seconds: MAX_SECONDS });
  const maxWall = Number(process.hrtime.bigint() - mt0) / 1e9;
  const m1 = stats();
  log(`max (${MAX_CONNECTIONS} connections): ${brief(max)}`);
  await sleep(200);
  const rates: RateResult[] = [];
  for (const rate of RATES) {
    const runs: LoadResult[] = [];
    const s0 = stats();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < RUNS; i++) runs.push(await fixedRate(m.target, { rate, seconds: SECONDS }));
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const s1 = stats();
    const rr: RateResult = {
      rate,
      rps: median(runs.map((r) => r.rps)),
      p50ms: median(runs.map((r) => r.p50ms)),
      p99ms: median(runs.map((r) => r.p99ms)),
      ok: runs.reduce((a, r) => a + r.ok, 0),
      failed: runs.reduce((a, r) => a + r.failed, 0),
      non2xx: runs.reduce((a, r) => a + Object.values(r.statuses).reduce((x, y) => x + y, 0), 0),
      vcpu: vcpu(s0, s1, wall),
      rssBytes: Object.fromEntries(Object.entries(s1).map(([k, v]) => [k, v.rss])),
    };
    rates.push(rr);
    log(`${rate}/s: ${runs.map(brief).join('; ')}`);
  }
  return {
    path: name,
    rates,
    max: {
      rps: max.rps,
      p50ms: max.p50ms,
      p99ms: max.p99ms,
      failed: max.failed,
      non2xx: Object.values(max.statuses).reduce((x, y) => x + y, 0),
      vcpu: vcpu(m0, m1, maxWall),
    },
  };
}

/** One GET through the row's path until it answers 200: the mesh must have converged first. */
async function ready(t: HttpTarget, what: string): Promise<void> {
  await until(
    what,
    async () => {
      const r = await fixedRate(t, { rate: 10, seconds: 0.1, drainMs: 1_000 }).catch(() => undefined);
      return r !== undefined && r.ok > 0 && r.failed === 0;
    },
    20_000,
    200,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  // Bounded: never hang a shared machine.
  setTimeout(() => {
    process.stderr.write('bench/l7: gave up after 600 s\n');
    process.exit(2);
  }, 600_000).unref();
  const backend = await startBackend();
  const up = { ip: BACKEND, port: backend.port };
  const results: PathResult[] = [];
  const skip = (row: Row, reason: string) => {
    process.stderr.write(`[bench/l7] ${row}: skipped: ${reason}\n`);
    results.push({ path: row, skipped: reason, rates: [] });
  };
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const host = 'echo.shop.svc.cluster.local';
    if (want('direct')) {
      const target = { dialer: directDialer(CLIENT), address: up, host, path: '/' };
      results.push(await measure('direct', { target, groups: {} }));
    }

    if (want('nginx')) {
      const missing = nginxMissing();
      if (missing) skip('nginx', missing);
      else {
        const ng = await startNginxProxy({ listen: NGINX, upstream: up, workers: 1 });
        try {
          const target = { dialer: fixedDialer(NGINX, CLIENT), address: NGINX, host, path: '/' };
          results.push(await measure('nginx', { target, groups: { nginx: () => [ng.pid] } }));
        } finally {
          await ng.stop();
        }
      }
    }

    if (want('ztunnel') || want('waypoint')) {
      const mesh = l7MeshYaml(P, backend.port);
      // (info: the harness waits for the "controller listening" line)
      const ctl: ControllerHarness = await startControllerHarness({ files: { 'mesh.yaml': mesh.yaml } });
      cleanups.push(() => ctl.stop());
      const z: ZtunnelPair = await startZtunnelPair(ctl, {
        prefix: P,
        socks5Port: SOCKS5.port,
        logLevel: 'warn',
      });
      cleanups.push(() => z.stop());
      const ztunnels = () => [z.z1.child.pid, z.z2.child.pid].filter((p): p is number => p !== undefined);
      const dialer = socks5Dialer(SOCKS5, CLIENT);

      if (want('ztunnel')) {
        const target = {
          dialer,
          address: { ip: mesh.vip.l4, port: 80 },
          host: 'l4.shop.svc.cluster.local',
          path: '/',
        };
        await ready(target, 'the L4 Service through the ztunnels');
        results.push(await measure('ztunnel', { target, groups: { ztunnels } }));
      }

      if (want('waypoint')) {
        let wp: WaypointProcess | undefined;
        try {
          wp = await startWaypointProcess(ctl, {
            name: `${WAYPOINT.namespace}/${WAYPOINT.gateway}`,
            address: mesh.waypointIp,
            logLevel: 'warn',
            nodeArgs: CPU_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', CPU_PROF],
          });
        } catch (err) {
          skip('waypoint', `ambit waypoint did not start: ${(err as Error).message.split('\n')[0] ?? ''}`);
        }
        if (wp) {
          const w = wp;
          cleanups.push(() => w.stop());
          const target = {
            dialer,
            address: { ip: mesh.vip.l7, port: 80 },
            host: 'l7.shop.svc.cluster.local',
            path: '/',
          };
          await ready(target, 'the L7 Service through ztunnel -> waypoint -> ztunnel');
          const waypoint = () => (w.child.pid === undefined ? [] : [w.child.pid]);
          results.push(await measure('waypoint', { target, groups: { waypoint, ztunnels } }));
        }
      }
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    backend.child.kill();
  }
  const verdicts = judge(results);
  printReport(results, verdicts, {
    seconds: (Date.now() - started) / 1000,
    quick: QUICK,
    note: process.env.BENCH_NOTE,
  });
  process.stdout.write(JSON.stringify({ bench: 'l7', quick: QUICK, aims: AIMS, results, verdicts }) + '\n');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench/l7 failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
