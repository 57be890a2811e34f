// bench/redirect: what the kernel redirect costs. Builds a 2-node local cluster, then from a pod
// measures new connections (each with one 1 KB round trip) and 1 KB round-trip latency to an echo
// server on the same node and on the other node, three ways: direct (unenrolled pod), through a
// relay reached by the kernel redirect (enrolled pod: connect4 + sockops + one map lookup), and
// through the same relay dialled explicitly from the same enrolled pod (no rewrite, no lookup). The redirect/explicit ratio
// is the kernel part alone. The relay is local-cluster's capture stub (a plaintext Node relay),
// so the mesh/direct ratios show a userspace hop, not the ztunnel's mTLS. Also: the koffi
// original-destination lookup cost against spawning bpftool. Prints figures; no thresholds.
// Usage (root): node dist/bench/redirect/run.js [--connections N] [--round-trips N] [--rounds N] [--no-ztunnel]
import { execFileSync } from 'node:child_process';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { meshStateFor } from '../../local-cluster/computed-mesh-state.js';
import { distScript } from '../../local-cluster/host.js';
import { spawnIn } from '../../local-cluster/processes.js';
import { ECHO_PORT, meshAndPlainSpec } from '../../local-cluster/topology.js';
import { preflight } from '../../local-cluster/preflight.js';
import { openOriginalDestinationMap } from '../../core/bpf-maps/original-destination.js';
import { mapPinPath } from '../../core/bpf-maps/pin-paths.js';

interface LoadResult {
  connPerSec: number;
  connP50us: number;
  rttP50us: number;
  rttP99us: number;
  error?: string;
}

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CONNECTIONS = arg('connections', 1000);
const ROUND_TRIPS = arg('round-trips', 3000);

const spec = meshAndPlainSpec([
  { name: 'bench-mesh', namespace: 'mesh', node: 1, labels: { app: 'bench' } },
  { name: 'bench-plain', namespace: 'plain', node: 1, labels: { app: 'bench' } },
  { name: 'srv-1', namespace: 'mesh', node: 1, labels: { app: 'srv' } },
  { name: 'srv-2', namespace: 'mesh', node: 2, labels: { app: 'srv' } },
]);

async function load(
  c: LocalCluster,
  pod: string,
  host: string,
  port: number,
  socks?: string,
): Promise<LoadResult> {
  const p = c.pod(pod);
  const args = [process.execPath, distScript('bench/redirect/load-client'), host, String(port)];
  args.push(String(CONNECTIONS), String(ROUND_TRIPS));
  if (socks) args.push(socks);
  const proc = c.track(spawnIn({ netns: p.netns, cgroup: c.podCgroup(p) }, `load ${pod}`, args));
  await proc.wait();
  const line = proc.lines.find((l) => l.startsWith('{'));
  const r = JSON.parse(line ?? '{"error":"no output"}') as LoadResult;
  if (r.error) throw new Error(`load from ${pod} to ${host}:${port}: ${r.error} ${proc.tail()}`);
  return r;
}

function lookupCost(node: string): { koffiNs: number; bpftoolUs: number } {
  const m = openOriginalDestinationMap(node);
  const n = 200_000;
  for (let i = 0; i < 1000; i++) m.lookup('10.20.1.11', i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) m.lookup('10.20.1.11', i & 0xffff);
  const koffiNs = Number(process.hrtime.bigint() - t0) / n;
  m.close();
  const pin = mapPinPath(node, 'ambit_orig_by_tuple');
  const k = 20;
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < k; i++) {
    try {
      execFileSync(
        'bpftool',
        ['map', 'lookup', 'pinned', pin, 'key', '10', '20', '1', '11', '1', '0', '0', '0'],
        {
          stdio: 'ignore',
        },
      );
    } catch {
      // a miss exits non-zero; the process cost is what we measure
    }
  }
  return { koffiNs, bpftoolUs: Number(process.hrtime.bigint() - t1) / k / 1e3 };
}

const fmt = (n: number, w = 9): string => String(n).padStart(w);
const ratio = (a: number, b: number): string => (b === 0 ? '-' : (a / b).toFixed(2)).padStart(9);
const ROUNDS = arg('rounds', 5);

type Way = { name: string; pod: string; host: string; port: number; socks?: string };
interface Section {
  title: string;
  paths: { path: string; ways: Way[] }[];
  /** [label, way name a, way name b]: a / b */
  ratios: [string, string, string][];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs every way ROUNDS times, interleaved so drift on a shared machine hits all alike; medians. */
async function measure(c: LocalCluster, s: Section, progress: (m: string) => void): Promise<string[]> {
  const results = new Map<string, LoadResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const p of s.paths) {
      for (const w of p.ways) {
        progress(`${s.title} | ${p.path} | ${w.name} (round ${round}/${ROUNDS})`);
        const key = `${p.path}|${w.name}`;
        results.set(key, [...(results.get(key) ?? []), await load(c, w.pod, w.host, w.port, w.socks)]);
      }
    }
  }
  const med = (key: string): LoadResult => {
    const rs = results.get(key) ?? [];
    return {
      connPerSec: median(rs.map((r) => r.connPerSec)),
      connP50us: median(rs.map((r) => r.connP50us)),
      rttP50us: median(rs.map((r) => r.rttP50us)),
      rttP99us: median(rs.map((r) => r.rttP99us)),
    };
  };
  const out = [`== ${s.title}`, ''];
  out.push(
    `${'path'.padEnd(14)}${'way'.padEnd(30)}${'conn/s'.padStart(9)}${'conn p50 µs'.padStart(13)}${'rtt p50 µs'.padStart(12)}${'rtt p99 µs'.padStart(12)}`,
  );
  for (const p of s.paths) {
    for (const w of p.ways) {
      const x = med(`${p.path}|${w.name}`);
      out.push(
        `${p.path.padEnd(14)}${w.name.padEnd(30)}${fmt(x.connPerSec)}${fmt(x.connP50us, 13)}${fmt(x.rttP50us, 12)}${fmt(x.rttP99us, 12)}`,
      );
    }
  }
  out.push('');
  out.push(`${'ratio'.padEnd(62)}${'conn p50'.padStart(9)}${'conn/s'.padStart(9)}${'rtt p50'.padStart(9)}`);
  for (const p of s.paths) {
    for (const [label, a, b] of s.ratios) {
      const x = med(`${p.path}|${a}`);
      const y = med(`${p.path}|${b}`);
      out.push(
        `${`${p.path}: ${label}`.padEnd(62)}${ratio(x.connP50us, y.connP50us)}${ratio(x.connPerSec, y.connPerSec)}${ratio(x.rttP50us, y.rttP50us)}`,
      );
    }
  }
  out.push('');
  return out;
}

/**
 * Tens of thousands of short connections to the same server leave its clients' ports in
 * TIME_WAIT; without reuse the later rounds pay for an ever longer port search (and finally run
 * out), which is the bench measuring itself. Only our namespaces are changed.
 */
function prepareForLoad(c: LocalCluster): void {
  c.sysctlEverywhere('net.ipv4.tcp_tw_reuse', '1');
}

/** The kernel path with a plaintext relay (local-cluster's capture stub) in place of the ztunnel. */
async function stubSection(progress: (m: string) => void): Promise<string[]> {
  const c = await LocalCluster.create({ spec, progress, signalHandlers: true });
  try {
    prepareForLoad(c);
    c.writeMeshState(meshStateFor(c.topology));
    await c.startAgent(1, { stateFile: true });
    await c.startAgent(2, { stateFile: true });
    const s1 = c.pod('srv-1').ip;
    const s2 = c.pod('srv-2').ip;
    const fixed = ['--fixed', `15002=${s1}:${ECHO_PORT}`, '--fixed', `15003=${s2}:${ECHO_PORT}`];
    await c.startCaptureStub(1, ['--quiet', ...fixed]);
    const ways = (ip: string, fixedPort: number): Way[] => [
      { name: 'direct', pod: 'bench-plain', host: ip, port: ECHO_PORT },
      { name: 'redirect -> relay', pod: 'bench-mesh', host: ip, port: ECHO_PORT },
      // from the same enrolled pod: connect4 runs and passes (the mesh address is not redirected), so
      // the only difference to the row above is the rewrite, the sockops record and the lookup
      { name: 'relay dialled explicitly', pod: 'bench-mesh', host: c.meshAddress, port: fixedPort },
    ];
    const out = await measure(
      c,
      {
        title: 'kernel redirect with a plaintext Node relay standing in for the ztunnel',
        paths: [
          { path: 'same node', ways: ways(s1, 15002) },
          { path: 'across nodes', ways: ways(s2, 15003) },
        ],
        ratios: [
          ['redirect+relay / direct', 'redirect -> relay', 'direct'],
          ['kernel part: redirect / explicit dial', 'redirect -> relay', 'relay dialled explicitly'],
        ],
      },
      progress,
    );
    const cost = lookupCost(c.node(1).name);
    out.push(
      `original-destination lookup: koffi bpf(2) ${cost.koffiNs.toFixed(0)} ns/lookup (encode + syscall + decode); bpftool process ${cost.bpftoolUs.toFixed(0)} µs/lookup`,
      '',
    );
    return out;
  } finally {
    await c.teardown();
  }
}

const SOCKS = '15080';

/** The real mesh: controller, agents, ztunnels (HBONE mTLS); explicit dial = the ztunnel's SOCKS5. */
async function ztunnelSection(progress: (m: string) => void): Promise<string[]> {
  const c = await LocalCluster.create({ spec, progress, signalHandlers: true });
  try {
    prepareForLoad(c);
    await c.startController();
    await c.startAgent(1);
    await c.startAgent(2);
    await c.startZtunnel(1, ['--socks5', `${c.meshAddress}:${SOCKS}`, '--log-level', 'warn']);
    await c.startZtunnel(2, ['--log-level', 'warn']);
    const socks = `${c.meshAddress}:${SOCKS}`;
    const ways = (ip: string): Way[] => [
      { name: 'direct', pod: 'bench-plain', host: ip, port: ECHO_PORT },
      { name: 'redirect -> ztunnel', pod: 'bench-mesh', host: ip, port: ECHO_PORT },
      { name: 'ztunnel via SOCKS5', pod: 'bench-mesh', host: ip, port: ECHO_PORT, socks },
    ];
    return await measure(
      c,
      {
        title: 'the mesh: kernel redirect -> ztunnel -> HBONE/mTLS -> ztunnel -> pod',
        paths: [
          { path: 'same node', ways: ways(c.pod('srv-1').ip) },
          { path: 'across nodes', ways: ways(c.pod('srv-2').ip) },
        ],
        ratios: [
          ['mesh / direct', 'redirect -> ztunnel', 'direct'],
          ['kernel part: redirect / SOCKS5 (SOCKS adds 1 RTT)', 'redirect -> ztunnel', 'ztunnel via SOCKS5'],
        ],
      },
      progress,
    );
  } finally {
    await c.teardown();
  }
}

async function main(): Promise<void> {
  // root, cgroup v2, bpf(2), bpftool/ip/nsenter and the BPF objects, as for `ambit demo`
  preflight();
  const progress = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
  const out = [
    `bench/redirect: ${CONNECTIONS} sequential new connections each with one 1 KB round trip, then ${ROUND_TRIPS} 1 KB round trips on one connection; median of ${ROUNDS} interleaved rounds`,
    '',
  ];
  out.push(...(await stubSection(progress)));
  if (!process.argv.includes('--no-ztunnel')) {
    try {
      out.push(...(await ztunnelSection(progress)));
    } catch (err) {
      out.push(`(mesh section skipped: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`bench/redirect: ${err.message}\n`);
  process.exit(1);
});
