// bench/soak: minutes of mixed, bounded load through a whole mesh on loopback - a controller, two
// ztunnels and a waypoint as real processes (test/support harnesses) - while sampling each mesh
// process's RSS and open fds; then the slopes, the errors by kind and a verdict against issue 11's
// aim (flat memory, zero errors not injected). Lanes (fixed rates, 2 shared cores in mind):
// L4 long-lived streams and short connections (1 KB round trips) to a TCP echo, HTTP/1.1 and gRPC
// through the waypoint, some retried, 1% failing on purpose.
// Run: npm run build && npm run bench:soak -- [--minutes 20] [--sample-seconds N]
// Loopback only (127.0.90.x). Bounded: gives up 3 minutes after its run time. Ctrl-C ends the load
// early, prints the report for what ran, and stops every process it started.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startControllerHarness, type ControllerHarness } from '../../test/support/controller-harness.js';
import { until } from '../../test/support/until.js';
import { startWaypointProcess, type WaypointProcess } from '../../test/support/waypoint-processes.js';
import { startZtunnelPair, type ZtunnelPair } from '../../test/support/ztunnel-pair.js';
import { ErrorTally } from './error-tally.js';
import { grpcLane } from './lane-grpc.js';
import { httpLane } from './lane-http.js';
import { l4ShortLane } from './lane-l4-short.js';
import { l4StreamsLane } from './lane-l4-streams.js';
import type { LaneContext, LoadLane } from './mesh-dial.js';
import { soakMeshYaml, WAYPOINT } from './mesh-yaml.js';
import { printReport, type LogLevels } from './print-report.js';
import { ProcessSampler } from './process-sampler.js';
import { judgeSoak } from './soak-verdict.js';

const P = '127.0.90';
const CLIENT = `${P}.11`;
const BACKEND = `${P}.12`;
const SOCKS5 = { host: `${P}.2`, port: 15080 };

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};

function numberFlag(name: string, fallback: number): number {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} ${v}: a positive number, please`);
  return n;
}

/** The offered load, fixed for the whole run (--rate-scale multiplies every rate). */
function rates(scale: number) {
  return {
    streams: 8,
    streamIntervalMs: Math.round(500 / scale),
    shortPerSec: 10 * scale,
    httpPerSec: 40 * scale,
    grpcPerSec: 20 * scale,
    maxInFlight: 16,
  };
}

/** Every process this run spawned, killed for sure if the run dies (SIGKILL: nothing to wait for). */
const spawned = new Set<ChildProcess>();
function killAll(): void {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

async function startBackend(): Promise<{ tcp: number; http: number; grpc: number; child: ChildProcess }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, [path.join(here, 'backend.js'), BACKEND], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  spawned.add(child);
  const line = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
    new Promise<never>((_, reject) => child.once('exit', (c) => reject(new Error(`backend exited (${c})`)))),
  ]);
  return { ...(JSON.parse(line) as { tcp: number; http: number; grpc: number }), child };
}

/** Level counts (pino: 40 warn, 50+ error) of JSON log lines, and their messages by count. */
function levels(lines: Iterable<Record<string, unknown>>): LogLevels {
  const c: LogLevels = { warn: 0, error: 0, messages: {} };
  for (const l of lines) {
    const level = typeof l.level === 'number' ? l.level : 0;
    if (level < 40) continue;
    if (level >= 50) c.error++;
    else c.warn++;
    const msg = `${level >= 50 ? 'error' : 'warn'}: ${typeof l.msg === 'string' ? l.msg : '?'}`;
    c.messages[msg] = (c.messages[msg] ?? 0) + 1;
  }
  return c;
}

function controllerLevels(ctl: ControllerHarness): LogLevels {
  const lines: Record<string, unknown>[] = [];
  for (const line of ctl.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o: unknown = JSON.parse(line);
      if (typeof o === 'object' && o !== null) lines.push({ ...o });
    } catch {
      /* not a log line */
    }
  }
  return levels(lines);
}

/** Runs the soak; resolves with the verdict (true: PASS). */
async function main(): Promise<boolean> {
  const minutes = numberFlag('--minutes', 20);
  const runSec = minutes * 60;
  const sampleSec = numberFlag('--sample-seconds', Math.max(2, Math.min(10, Math.round(runSec / 40))));
  const load = rates(numberFlag('--rate-scale', 1));
  if (process.argv.includes('--cluster'))
    throw new Error('--cluster (the local cluster, as root) is not built yet; run without it for loopback');
  // Bounded: never hang a shared machine.
  setTimeout(
    () => {
      process.stderr.write(`bench/soak: gave up ${minutes} min + 3 min after start\n`);
      killAll();
      process.exit(2);
    },
    (runSec + 180) * 1000,
  ).unref();
  const log = (s: string) => process.stderr.write(`[bench/soak] ${s}\n`);

  let interrupted = false;
  let wake: (() => void) | undefined;
  process.on('SIGINT', () => {
    if (interrupted) {
      log('second Ctrl-C: killing everything');
      killAll();
      process.exit(130);
    }
    interrupted = true;
    log('Ctrl-C: ending the load, then the report and cleanup (Ctrl-C again to kill at once)');
    wake?.();
  });
  process.on('exit', killAll);

  const cleanups: (() => Promise<void>)[] = [];
  const tally = new ErrorTally();
  try {
    const backend = await startBackend();
    cleanups.push(async () => void backend.child.kill());
    const mesh = soakMeshYaml(P, backend);
    // info: the harness waits for the "controller listening" line
    const ctl = await startControllerHarness({ files: { 'mesh.yaml': mesh.yaml } });
    spawned.add(ctl.process());
    cleanups.push(() => ctl.stop());
    const z: ZtunnelPair = await startZtunnelPair(ctl, {
      prefix: P,
      socks5Port: SOCKS5.port,
      logLevel: 'warn',
    });
    spawned.add(z.z1.child).add(z.z2.child);
    cleanups.push(() => z.stop());
    const wp: WaypointProcess = await startWaypointProcess(ctl, {
      name: `${WAYPOINT.namespace}/${WAYPOINT.gateway}`,
      address: mesh.waypointIp,
      logLevel: 'warn',
    });
    spawned.add(wp.child);
    cleanups.push(() => wp.stop());
    if (interrupted) return false;

    const ctx: LaneContext = { tally, socks5: SOCKS5, clientIp: CLIENT, timeoutMs: 10_000 };
    // One probe per path until it answers: the mesh must have converged before the clock starts.
    const probe = (what: string, lane: (c: LaneContext) => LoadLane, key: string) =>
      until(
        what,
        async () => {
          const t = new ErrorTally();
          const l = lane({ ...ctx, tally: t, timeoutMs: 2_000 });
          l.start();
          await sleep(300);
          await l.stop();
          const s = t.snapshot();
          return (s.carried[key]?.requests ?? 0) > 0 && Object.keys(s.errors).length === 0;
        },
        30_000,
        200,
      );
    await probe(
      'L4 through the ztunnels',
      (c) => l4ShortLane(c, { target: mesh.echo, rate: 10, maxInFlight: 4 }),
      'l4 short',
    );
    await probe(
      'HTTP through the waypoint',
      (c) => httpLane(c, { target: mesh.web, rate: 10, maxInFlight: 4 }),
      'http/1.1 via waypoint',
    );
    await probe(
      'gRPC through the waypoint',
      (c) => grpcLane(c, { target: mesh.rpc, rate: 10, maxInFlight: 4 }),
      'grpc via waypoint',
    );
    log(`mesh ready; ${minutes} min of load, sampling every ${sampleSec} s`);

    const sampler = new ProcessSampler(
      [
        { name: 'controller', pid: () => ctl.process().pid },
        { name: 'ztunnel node-1', pid: () => z.z1.child.pid },
        { name: 'ztunnel node-2', pid: () => z.z2.child.pid },
        { name: 'waypoint', pid: () => wp.child.pid },
      ],
      (name) => tally.error(`process gone: ${name}`),
    );
    const lanes: LoadLane[] = [
      l4StreamsLane(ctx, { target: mesh.echo, streams: load.streams, intervalMs: load.streamIntervalMs }),
      l4ShortLane(ctx, { target: mesh.echo, rate: load.shortPerSec, maxInFlight: load.maxInFlight }),
      httpLane(ctx, { target: mesh.web, rate: load.httpPerSec, maxInFlight: load.maxInFlight }),
      grpcLane(ctx, { target: mesh.rpc, rate: load.grpcPerSec, maxInFlight: load.maxInFlight }),
    ];
    const t0 = Date.now();
    const elapsed = () => (Date.now() - t0) / 1000;
    sampler.sample(0);
    for (const l of lanes) l.start();
    while (!interrupted && elapsed() < runSec) {
      const next = Math.min(runSec, (Math.floor(elapsed() / sampleSec) + 1) * sampleSec);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(0, next * 1000 - (Date.now() - t0)));
      });
      wake = undefined;
      sampler.sample(elapsed());
      const s = tally.snapshot();
      const done = Object.values(s.carried).reduce((a, c) => a + c.requests, 0);
      if (Math.round(elapsed()) % 60 < sampleSec)
        log(
          `${(elapsed() / 60).toFixed(1)} min: ${done} requests, ${Object.values(s.errors).reduce((a, n) => a + n, 0)} errors not injected`,
        );
    }
    const ranSec = elapsed();
    log('load done; stopping the lanes');
    await Promise.all(lanes.map((l) => l.stop()));
    const logLines = {
      controller: controllerLevels(ctl),
      'ztunnel node-1': levels(z.z1.logs),
      'ztunnel node-2': levels(z.z2.logs),
      waypoint: levels(wp.logs),
    };
    for (const [name, c] of Object.entries(logLines))
      if (c.error > 0) tally.error(`log error lines: ${name}`);
    const snapshot = tally.snapshot();
    const verdict = judgeSoak(sampler.series, ranSec, snapshot);
    process.stdout.write(
      printReport(verdict, snapshot, {
        runSec: ranSec,
        sampleSec,
        interrupted,
        logLines,
        note: process.env.BENCH_NOTE,
      }),
    );
    process.stdout.write(
      JSON.stringify({
        bench: 'soak',
        minutes: ranSec / 60,
        sampleSec,
        load,
        verdict: {
          pass: verdict.pass,
          reasons: verdict.reasons,
          processes: verdict.processes.map((p) => ({
            name: p.name,
            rssMb: p.lastRssMb,
            rssMbPerHour: p.rssMb.fit?.slopePerHour,
            rssMbPerHourStderr: p.rssMb.fit?.stderrPerHour,
            fds: p.lastFds,
            fdsPerHour: p.fds.fit?.slopePerHour,
          })),
        },
        tally: snapshot,
        samples: sampler.series,
      }) + '\n',
    );
    return verdict.pass;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

// exit status: 0 PASS, 3 FAIL (the verdict's reasons are printed), 1 the soak itself failed
main().then(
  (pass) => process.exit(pass ? 0 : 3),
  (err: Error) => {
    process.stderr.write(`bench/soak failed: ${err.stack ?? err.message}\n`);
    killAll();
    process.exit(1);
  },
);
