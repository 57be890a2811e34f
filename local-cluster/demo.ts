// `ambit demo`: a 2-node local cluster running the whole mesh (controller, an agent and a ztunnel
// per node, a waypoint for the demo namespace's Services), some traffic between the pods, a table
// of what the ztunnels saw, read from their /metrics (Istio metric names), and the L7 half: a
// 90/10 canary split and a retry over a flaky backend through the waypoint (demoTopologySpec).
// Progress goes to stderr, the tables to stdout. Tears everything down unless --keep.
import { PinnedMap } from '../core/bpf-maps/pinned-map.js';
import { COUNTERS_MAP, COUNTER_NAMES, POD_POLICY_MAP } from '../core/bpf-maps/map-codecs.js';
import { LocalCluster } from './cluster.js';
import { distScript, inNetns } from './host.js';
import { preflight } from './preflight.js';
import { parsePrometheusText, type Sample } from './prometheus-text.js';
import { demoTopologySpec, ECHO_PORT, HTTP_PORT } from './topology.js';
import { until } from './until.js';

export interface DemoOptions {
  keep?: boolean | undefined;
  out?: (s: string) => void;
  progress?: (s: string) => void;
}

export interface DemoFlow {
  from: string;
  to: string;
  host: string;
  port: number;
  ok: boolean;
  bytes: number;
  error?: string | undefined;
}

export interface DemoRow {
  source: string;
  destination: string;
  sourceIdentity: string;
  destinationIdentity: string;
  mtls: boolean;
  connections: number;
  bytesSent: number;
  bytesReceived: number;
  decision: string;
}

async function waitEnrolled(c: LocalCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const n of c.topology.nodes) {
    // waypoint pods are never enrolled (DESIGN §6)
    const ips = c.topology.pods.filter((p) => p.node === n && p.waypoint === undefined).map((p) => p.ip);
    await until(
      `the pods on ${n.name} to be enrolled`,
      () => {
        try {
          const m = PinnedMap.open(n.name, POD_POLICY_MAP);
          const missing = ips.filter((ip) => !m.lookup(ip));
          m.close();
          return missing.length === 0;
        } catch {
          return false; // not pinned yet
        }
      },
      Math.max(0, deadline - Date.now()),
      100,
    );
  }
}

/**
 * Every connection a pod opened has been closed and counted by its source ztunnel. Only the source
 * side: the waypoint keeps pooled keep-alive tunnels to the destination ztunnels open.
 */
function ztunnelsIdle(c: LocalCluster): boolean {
  let opened = 0;
  let closed = 0;
  for (const n of c.topology.nodes) {
    const samples = scrapeMetrics(c, n.index);
    // an empty scrape (ztunnel not answering) is not "idle"
    if (samples.length === 0) return false;
    for (const s of samples) {
      if (s.labels.reporter !== 'source') continue;
      if (s.name === 'istio_tcp_connections_opened_total') opened += s.value;
      if (s.name === 'istio_tcp_connections_closed_total') closed += s.value;
    }
  }
  return opened > 0 && opened === closed;
}

function kernelCounters(node: string): string {
  const m = PinnedMap.open(node, COUNTERS_MAP);
  try {
    return COUNTER_NAMES.map((name, i) => `${name}=${m.lookup(i) ?? 0n}`).join(' ');
  } finally {
    m.close();
  }
}

export function scrapeMetrics(c: LocalCluster, node: number): Sample[] {
  const n = c.node(node);
  const text = inNetns(n.netns, ['curl', '-s', '-m', '2', `http://${n.address}:15020/metrics`], {
    allowFail: true,
  });
  return parsePrometheusText(text);
}

/** One row per (source workload, destination) as reported by the source ztunnels. */
export function demoRows(samples: Sample[]): DemoRow[] {
  const rows = new Map<string, DemoRow>();
  for (const s of samples) {
    if (s.labels.reporter !== 'source') continue;
    const l = s.labels;
    const dest =
      l.destination_workload && l.destination_workload !== 'unknown'
        ? l.destination_workload
        : (l.destination_service ?? 'unknown');
    const key = [l.source_workload, dest, l.destination_service, l.response_flags].join('|');
    const row =
      rows.get(key) ??
      ({
        source: `${l.source_workload_namespace ?? '?'}/${l.source_workload ?? '?'}`,
        destination:
          l.destination_service && l.destination_service !== 'unknown'
            ? `${dest} (${l.destination_service})`
            : dest,
        sourceIdentity: l.source_principal ?? 'unknown',
        destinationIdentity: l.destination_principal ?? 'unknown',
        mtls: l.connection_security_policy === 'mutual_tls',
        connections: 0,
        bytesSent: 0,
        bytesReceived: 0,
        decision: !l.response_flags || l.response_flags === '-' ? 'allow' : l.response_flags,
      } satisfies DemoRow);
    if (s.name === 'istio_tcp_connections_opened_total') row.connections += s.value;
    // Istio: sent = bytes of the response (server -> client), received = of the request
    if (s.name === 'istio_tcp_sent_bytes_total') row.bytesSent += s.value;
    if (s.name === 'istio_tcp_received_bytes_total') row.bytesReceived += s.value;
    rows.set(key, row);
  }
  return [...rows.values()].filter((r) => r.connections > 0);
}

export function formatTable(rows: DemoRow[]): string {
  const header = [
    'source',
    'destination',
    'source identity',
    'destination identity',
    'mTLS',
    'conns',
    'bytes req/resp',
    'policy',
  ];
  const body = rows.map((r) => [
    r.source,
    r.destination,
    r.sourceIdentity.replace(/^spiffe:\/\//, ''),
    r.destinationIdentity.replace(/^spiffe:\/\//, ''),
    r.mtls ? 'yes' : 'no',
    String(r.connections),
    `${r.bytesReceived}/${r.bytesSent}`,
    r.decision,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function serviceVip(c: LocalCluster, name: string): string {
  return c.topology.services.find((s) => s.spec.name === name)?.vip ?? '';
}

/** The canary split and the retry, through the waypoint, with what the waypoint counted. */
async function l7Section(c: LocalCluster): Promise<{ lines: string[]; asExpected: boolean }> {
  const lines: string[] = [];
  let asExpected = true;
  const n = 200;
  const canary = await c.l7InPod('client-1', {
    mode: 'http',
    target: `http://${serviceVip(c, 'server')}/canary`,
    authority: 'server',
    count: n,
    concurrency: 8,
    timeoutMs: 5000,
  });
  const v2 = canary.byPod['server-canary'] ?? 0;
  const v1 = (canary.byPod['server-1'] ?? 0) + (canary.byPod['server-2'] ?? 0);
  const canaryOk = v1 + v2 === n && v2 >= n * 0.02 && v2 <= n * 0.25;
  if (!canaryOk) asExpected = false;
  lines.push('through the waypoint (L7, HTTPRoutes on the Services):');
  lines.push(
    `  canary split, server 90/10 between v1 and v2: v1 ${v1}, v2 ${v2} of ${n} (${((100 * v2) / n).toFixed(1)}% to v2)` +
      (canaryOk ? '' : `  <-- expected about 10% to v2, all answered (${JSON.stringify(canary.byStatus)})`),
  );
  const flaky = c.pod('flaky-1');
  const direct = await c.l7InPod('client-1', {
    mode: 'http',
    target: `http://${flaky.ip}:${HTTP_PORT}/direct`,
    count: n,
    concurrency: 8,
    timeoutMs: 5000,
  });
  const retried = await c.l7InPod('client-1', {
    mode: 'http',
    target: `http://${serviceVip(c, 'flaky')}/retried`,
    authority: 'flaky',
    count: n,
    // few at once: the default retry budget allows 3 concurrent retries (Envoy's max_retries)
    concurrency: 2,
    timeoutMs: 5000,
  });
  const okDirect = direct.byStatus['200'] ?? 0;
  const okRetried = retried.byStatus['200'] ?? 0;
  // 50% failures and up to 3 retries: about 94% succeed (1 - 0.5^4); direct about 50%
  const retryOk = okRetried >= n * 0.85 && okRetried > okDirect;
  if (!retryOk) asExpected = false;
  lines.push(
    `  flaky backend (fails 50% with 503): by pod IP, no waypoint: ${okDirect}/${n} ok;` +
      ` via Service flaky with retry (3 attempts on 503): ${okRetried}/${n} ok` +
      (retryOk ? '' : `  <-- expected most to succeed with the retry (${JSON.stringify(retried.byStatus)})`),
  );
  const wp = c.waypointPod('demo', 'waypoint');
  const samples = parsePrometheusText(c.curlInNetns(wp.netns, c.waypointUrl(wp, 15090, '/metrics')));
  const counted = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== 'istio_requests_total' || s.labels.reporter !== 'waypoint') continue;
    const key = `${s.labels.destination_workload ?? 'unknown'} ${s.labels.response_code ?? '?'}`;
    counted.set(key, (counted.get(key) ?? 0) + s.value);
  }
  lines.push('  what the waypoint counted (istio_requests_total{reporter="waypoint"} on :15090/metrics):');
  for (const [key, value] of [...counted].sort()) lines.push(`    ${key.padEnd(28)} ${value}`);
  if (counted.size === 0) lines.push('    (no request metrics reported)');
  return { lines, asExpected };
}

export async function runDemo(o: DemoOptions = {}): Promise<void> {
  const out = o.out ?? ((s: string) => void process.stdout.write(s + '\n'));
  const progress = o.progress ?? ((s: string) => void process.stderr.write(`[demo] ${s}\n`));
  preflight();
  const c = await LocalCluster.create({ progress, spec: demoTopologySpec() });
  let keep = false;
  try {
    await c.startController();
    progress('starting an agent and a ztunnel in each node');
    await Promise.all(c.topology.nodes.map((n) => c.startAgent(n.index)));
    await Promise.all(c.topology.nodes.map((n) => c.startZtunnel(n.index)));
    progress('starting the waypoint of namespace demo (Services server and flaky use it)');
    await c.startWaypoint('demo', 'waypoint');
    progress('waiting for the agents to enroll the pods');
    await waitEnrolled(c, 15_000);

    progress('sending traffic between the pods');
    const vip = c.topology.services[0]?.vip ?? '';
    // expect: what the demo policy (clients may not use the servers' echo port) should do
    const flows: {
      from: string;
      to: string;
      host: string;
      port: number;
      args: string[];
      expect: 'allow' | 'deny';
    }[] = [
      {
        from: 'client-1',
        to: 'server-2',
        host: c.pod('server-2').ip,
        port: HTTP_PORT,
        args: ['--http', '/hello'],
        expect: 'allow',
      },
      {
        from: 'client-1',
        to: 'server (VIP)',
        host: vip,
        port: 80,
        args: ['--http', '/via-service'],
        expect: 'allow',
      },
      {
        from: 'client-2',
        to: 'server-2',
        host: c.pod('server-2').ip,
        port: HTTP_PORT,
        args: ['--http', '/same-node'],
        expect: 'allow',
      },
      {
        from: 'client-2',
        to: 'server-1',
        host: c.pod('server-1').ip,
        port: ECHO_PORT,
        args: ['--send', 'hello\n'],
        expect: 'deny',
      },
    ];
    const results: (DemoFlow & { expect: 'allow' | 'deny'; asExpected: boolean })[] = [];
    await until(
      'the waypoint to serve the server Service',
      async () => {
        const r = await c.runInPod('client-1', vip, 80, ['--http', '/warm-up', '--timeout', '2000']);
        return r.ok && (r.reply ?? '').includes('"pod":"server');
      },
      20_000,
      250,
    );
    for (const f of flows) {
      const r = await c.runInPod(f.from, f.host, f.port, [...f.args, '--timeout', '5000']);
      // a refused mesh connection is accepted by the local ztunnel, then closed without a byte
      const allowed = r.ok && r.bytes > 0;
      results.push({
        ...f,
        ok: r.ok,
        bytes: r.bytes,
        error: r.error,
        asExpected: allowed === (f.expect === 'allow'),
      });
    }
    await until('the ztunnels to close and count the demo connections', () => ztunnelsIdle(c), 5_000, 100);
    const rows = demoRows(c.topology.nodes.flatMap((n) => scrapeMetrics(c, n.index)));

    out('');
    out(
      "connections made from the pods (policy: clients may use the servers' HTTP port, not the echo port):",
    );
    for (const r of results) {
      const what =
        r.ok && r.bytes > 0 ? `ok, ${r.bytes} bytes back` : `refused (${r.error ?? 'closed without data'})`;
      out(
        `  ${r.from} -> ${r.to} (${r.host}:${r.port}): ${what}${r.asExpected ? '' : `  <-- expected ${r.expect}`}`,
      );
    }
    out('');
    out('what the source ztunnels saw (istio_tcp_* on :15020/metrics):');
    out(rows.length > 0 ? formatTable(rows) : '  (no mesh connections reported)');
    out('');
    out('what the kernel did (ambit bpf):');
    for (const n of c.topology.nodes) out(`  ${n.name}: ${kernelCounters(n.name)}`);
    out('');
    progress('sending L7 traffic through the waypoint');
    const l7 = await l7Section(c);
    for (const line of l7.lines) out(line);
    out('');
    if (results.some((r) => !r.asExpected) || !l7.asExpected)
      throw new Error('some demo connections did not behave as expected (see above)');
    if (o.keep) {
      keep = true;
      const client = c.pod('client-1');
      const cli = `${process.execPath} ${distScript('cli/main')}`;
      out(`the cluster keeps running (prefix ${c.prefix}); Ctrl-C tears it down. To look around (as root):`);
      out(`  ${cli} bpf                                   # programs, attachments, enrolled pods, maps`);
      out(`  # a request from client-1, inside its cgroup (so it is captured) and its netns:`);
      out(
        `  sh -c 'echo $$ > ${c.podCgroup(client)}/cgroup.procs; exec nsenter --net=/run/netns/${client.netns} curl -s http://${vip}/'`,
      );
      out(
        `  nsenter --net=/run/netns/${c.node(1).netns} curl -s http://${c.node(1).address}:15020/metrics   # ztunnel metrics`,
      );
      out(
        `  nsenter --net=/run/netns/${c.topology.controlNetns} ${cli} status --controller ${c.controllerAddress} --state-dir ${c.stateDir}`,
      );
      await new Promise<never>(() => undefined); // until SIGINT/SIGTERM (the cluster's handlers tear down)
    }
  } finally {
    if (!keep) await c.teardown();
  }
}
