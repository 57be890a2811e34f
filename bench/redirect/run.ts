// bench/redirect: what the kernel redirect costs. Builds a 2-node local cluster, then from a pod
// measures new connections (each with one 1 KB round trip) and 1 KB round-trip latency to an echo
// server on the same node and on the other node, three ways: direct (unenrolled pod), through a
// relay reached by the kernel redirect (enrolled pod: connect4 + sockops + one map lookup), and
// through the same relay dialled explicitly (no redirect, no lookup). The redirect/explicit ratio
// is the kernel part alone. The relay is local-cluster's capture stub (a plaintext Node relay),
// so the mesh/direct ratios show a userspace hop, not the ztunnel's mTLS. Also: the koffi
// original-destination lookup cost against spawning bpftool. Prints figures; no thresholds.
// Usage (root): node dist/bench/redirect/run.js [--connections N] [--round-trips N]
import { execFileSync } from 'node:child_process';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { meshStateFor } from '../../local-cluster/mesh-state.js';
import { distScript } from '../../local-cluster/host.js';
import { spawnIn } from '../../local-cluster/processes.js';
import { ECHO_PORT, type TopologySpec } from '../../local-cluster/topology.js';
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
const CONNECTIONS = arg('connections', 300);
const ROUND_TRIPS = arg('round-trips', 3000);

const spec: TopologySpec = {
  nodes: 2,
  namespaces: [
    { name: 'mesh', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
    { name: 'plain', labels: {} },
  ],
  pods: [
    { name: 'bench-mesh', namespace: 'mesh', node: 1, labels: { app: 'bench' } },
    { name: 'bench-plain', namespace: 'plain', node: 1, labels: { app: 'bench' } },
    { name: 'srv-1', namespace: 'mesh', node: 1, labels: { app: 'srv' } },
    { name: 'srv-2', namespace: 'mesh', node: 2, labels: { app: 'srv' } },
  ],
  services: [],
};

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
const ratio = (a: number, b: number): string => (b === 0 ? '-' : (a / b).toFixed(2)).padStart(7);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('bench/redirect needs root (network namespaces, cgroups, BPF)');
  const progress = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
  const c = await LocalCluster.create({ spec, progress });
  try {
    c.writeMeshState(meshStateFor(c.topology));
    await c.startAgent(1, { stateFile: true });
    await c.startAgent(2, { stateFile: true });
    const s1 = c.pod('srv-1').ip;
    const s2 = c.pod('srv-2').ip;
    await c.startCaptureStub(1, [
      '--quiet',
      '--fixed',
      `15002=${s1}:${ECHO_PORT}`,
      '--fixed',
      `15003=${s2}:${ECHO_PORT}`,
    ]);
    const rows: { path: string; direct: LoadResult; redirect: LoadResult; explicit: LoadResult }[] = [];
    for (const [label, ip, fixedPort] of [
      ['same node', s1, 15002],
      ['across nodes', s2, 15003],
    ] as const) {
      progress(`${label}: direct`);
      const direct = await load(c, 'bench-plain', ip, ECHO_PORT);
      progress(`${label}: kernel redirect -> relay`);
      const redirect = await load(c, 'bench-mesh', ip, ECHO_PORT);
      progress(`${label}: relay dialled explicitly`);
      const explicit = await load(c, 'bench-plain', c.meshAddress, fixedPort);
      rows.push({ path: label, direct, redirect, explicit });
    }
    const cost = lookupCost(c.node(1).name);

    const out: string[] = [];
    out.push(
      `bench/redirect  (${CONNECTIONS} sequential connections with one 1 KB round trip; ${ROUND_TRIPS} 1 KB round trips on one connection)`,
    );
    out.push('');
    out.push(
      `${'path'.padEnd(14)}${'way'.padEnd(22)}${'conn/s'.padStart(9)}${'conn p50 µs'.padStart(13)}${'rtt p50 µs'.padStart(12)}${'rtt p99 µs'.padStart(12)}`,
    );
    for (const r of rows) {
      for (const [way, x] of [
        ['direct', r.direct],
        ['redirect + relay', r.redirect],
        ['relay, explicit dial', r.explicit],
      ] as const) {
        out.push(
          `${r.path.padEnd(14)}${way.padEnd(22)}${fmt(x.connPerSec)}${fmt(x.connP50us, 13)}${fmt(x.rttP50us, 12)}${fmt(x.rttP99us, 12)}`,
        );
      }
    }
    out.push('');
    out.push(
      `${'ratios'.padEnd(46)}${'conn p50'.padStart(9)}${'conn/s'.padStart(8)}${'rtt p50'.padStart(9)}`,
    );
    for (const r of rows) {
      out.push(
        `${(r.path + ': redirect+relay / direct').padEnd(46)}${ratio(r.redirect.connP50us, r.direct.connP50us)}  ${ratio(r.redirect.connPerSec, r.direct.connPerSec)}${ratio(r.redirect.rttP50us, r.direct.rttP50us)}`,
      );
      out.push(
        `${(r.path + ': kernel part (redirect/explicit)').padEnd(46)}${ratio(r.redirect.connP50us, r.explicit.connP50us)}  ${ratio(r.redirect.connPerSec, r.explicit.connPerSec)}${ratio(r.redirect.rttP50us, r.explicit.rttP50us)}`,
      );
    }
    out.push('');
    out.push(
      `original-destination lookup: koffi bpf(2) ${cost.koffiNs.toFixed(0)} ns/lookup; bpftool process ${cost.bpftoolUs.toFixed(0)} µs/lookup`,
    );
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await c.teardown();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench/redirect: ${err.message}\n`);
  process.exit(1);
});
