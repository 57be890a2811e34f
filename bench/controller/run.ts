// Controller bench: a real `ambit controller` with 10,000 pods and 1,000 services (100 nodes), and
// 100 DiscoveryClient subscribers (one ztunnel per node) in 4 child processes on loopback. Measures
// the time from a file change to the last subscriber's ACK (controller-side ACK timestamps), the
// snapshot size of the whole state beside each subscriber kind's view (agent, ztunnel, waypoint)
// and the controller's RSS. Prints figures; no pass/fail.
//   node dist/bench/controller/run.js [--pods 10000] [--services 1000] [--subscribers 100] [--changes 5]
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startControllerHarness, type ControllerHarness } from '../../test/support/controller-harness.js';
import { fetchStatus } from '../../core/discovery/inspection-client.js';
import { measureViewSizes } from './view-sizes.js';
import {
  WAYPOINT,
  nodeName,
  podsWithIpChange,
  servicesFile,
  servicesWithPortChange,
  writeMesh,
  type MeshSize,
} from './mesh-generator.js';
import type { SubscriberReport, SubscribersStart } from './subscribers.js';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '10000' },
    services: { type: 'string', default: '1000' },
    subscribers: { type: 'string', default: '100' },
    processes: { type: 'string', default: '4' },
    changes: { type: 'string', default: '5' },
  },
});
const size: MeshSize = {
  nodes: Number(args.subscribers),
  pods: Number(args.pods),
  services: Number(args.services),
};
const PROCESSES = Number(args.processes);
const CHANGES = Number(args.changes);

function log(s: string): void {
  process.stderr.write(`[bench/controller] ${s}\n`);
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ambit-bench-controller-'));
  const configDir = path.join(dir, 'config');
  writeMesh(configDir, size);
  log(`config: ${size.pods} pods, ${size.services} services, ${size.nodes} nodes in ${configDir}`);
  let ctl: ControllerHarness | undefined;
  const children: ChildProcess[] = [];
  try {
    let t = Date.now();
    ctl = await startControllerHarness({
      configDir,
      stateDir: path.join(dir, 'state'),
      logLevel: 'debug',
      startTimeoutMs: 300_000,
    });
    log(`controller up in ${Date.now() - t} ms at ${ctl.address}`);
    const pid = ctl.process().pid!;

    // subscribers: started in PROCESSES children, each connecting its clients one after another
    const applied = new Map<string, { version: string; at: number }>();
    const waiters = new Set<() => void>();
    t = Date.now();
    const ready = await Promise.all(
      Array.from({ length: PROCESSES }, (_, p) => {
        const child = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'subscribers.js'), {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          execArgv: ['--max-old-space-size=8192'],
        });
        children.push(child);
        const nodes = Array.from({ length: size.nodes }, (_, i) => i).filter((i) => i % PROCESSES === p);
        return new Promise<number>((resolve, reject) => {
          child.on('message', (m: SubscriberReport) => {
            if (m.type === 'applied') {
              applied.set(m.node, { version: m.version, at: m.at });
              waiters.forEach((w) => w());
            } else if (m.type === 'ready') resolve(m.count);
            else reject(new Error(m.message));
          });
          child.send({ controller: ctl!.address, stateDir: ctl!.stateDir, nodes } satisfies SubscribersStart);
        });
      }),
    );
    const subscribers = ready.reduce((a, b) => a + b, 0);
    log(`${subscribers} subscribers applied their first snapshot in ${Date.now() - t} ms`);
    const fullPush = ctl
      .logs()
      .split('\n')
      .find((l) => l.includes('"msg":"push"') && l.includes('"full":true'));
    const snapshotBytes = fullPush ? (JSON.parse(fullPush) as { bytes: number }).bytes : NaN;
    const memAfterSnapshots = rssMb(pid);
    const { trustDomain } = await fetchStatus({ controller: ctl.address, stateDir: ctl.stateDir });
    const viewSizes = await measureViewSizes(configDir, trustDomain, [
      { kind: 'agent', node: nodeName(0) },
      { kind: 'ztunnel', node: nodeName(0) },
      { kind: 'waypoint', name: WAYPOINT },
    ]);

    const allAt = (version: string) =>
      [...applied.values()].every((a) => a.version === version) && applied.size === subscribers;
    const waitAll = (version: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`not all subscribers reached ${version} within 60 s`)),
          60_000,
        );
        const check = () => {
          if (allAt(version)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });

    interface Round {
      kind: string;
      heapUsedMb: number;
      validateMs: number;
      computeMs: number;
      encodeMs: number;
      publishMs: number;
      lastAppliedMs: number;
      lastAckMs: number;
      deltaBytes: number;
    }
    const rounds: Round[] = [];
    for (let i = 0; i < CHANGES * 2; i++) {
      const podChange = i % 2 === 1;
      const mark = ctl.logMark();
      const t0 = Date.now();
      if (podChange)
        ctl.writeFile(
          'pods/node-001.yaml',
          podsWithIpChange(size, 1, Math.ceil(size.pods / size.nodes) + i, `10.250.0.${i + 1}`),
        );
      else ctl.writeFile(servicesFile(i * 7), servicesWithPortChange(size, i * 7, i + 1));
      const published = await ctl.waitForLog('mesh state published', { since: mark, timeoutMs: 60_000 });
      const version = String(published.version);
      await waitAll(version);
      const lastApplied = Math.max(...[...applied.values()].map((a) => a.at));
      // the controller's own ACK timestamps: poll status until every subscriber ACKed this version
      let lastAck = NaN;
      for (;;) {
        const s = await fetchStatus({ controller: ctl.address, stateDir: ctl.stateDir });
        const subs = s.subscribers.filter((x) => x.connected);
        if (subs.length >= subscribers && subs.every((x) => x.lastAckedVersion === version)) {
          lastAck = Math.max(...subs.map((x) => Date.parse(x.lastAckAt)));
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const pushLine = ctl
        .logs()
        .split('\n')
        .reverse()
        .find((l) => l.includes('"msg":"push"') && l.includes(version));
      const accepted = await ctl.waitForLog('config accepted', { since: mark });
      rounds.push({
        kind: podChange ? 'pod IP' : 'service port',
        validateMs: Number(accepted.validateMs),
        heapUsedMb: Number(published.heapUsedMb),
        computeMs: Number(published.computeMs),
        encodeMs: Number(published.publishMs),
        publishMs: Number(published.time) - t0,
        lastAppliedMs: lastApplied - t0,
        lastAckMs: lastAck - t0,
        deltaBytes: pushLine ? (JSON.parse(pushLine) as { bytes: number }).bytes : NaN,
      });
      log(`change ${i + 1}: ${JSON.stringify(rounds.at(-1))}`);
    }
    const memEnd = rssMb(pid);

    const fmt = (n: number) => `${Math.round(n)}`;
    const lines = [
      '',
      `controller bench: ${size.pods} pods, ${size.services} services, ${size.nodes} nodes, ${subscribers} subscribers (${PROCESSES} processes), loopback`,
      'first snapshot per subscriber kind (bytes of the push body):',
      ...viewSizes.map(
        (v) =>
          `  ${(v.name === 'full' ? 'whole mesh state (before views)' : v.name).padEnd(34)}${(v.bytes / 1024 / 1024).toFixed(2).padStart(7)} MiB  ${String(v.bytes).padStart(9)} bytes  ${String(v.records).padStart(6)} records`,
      ),
      `  ztunnel push measured on the wire ${(snapshotBytes / 1024 / 1024).toFixed(2).padStart(6)} MiB  ${String(snapshotBytes).padStart(9)} bytes (the controller's push log line, nonce included)`,
      `controller RSS after snapshots:    ${fmt(memAfterSnapshots.rss)} MB (peak ${fmt(memAfterSnapshots.peak)} MB)`,
      `controller RSS at end:             ${fmt(memEnd.rss)} MB (peak ${fmt(memEnd.peak)} MB; V8 heap in use at the last change ${rounds.at(-1)?.heapUsedMb} MB)`,
      '',
      'change -> (ms after the file write)  published  last applied  last ACK   delta bytes  (validate/compute/view ms)',
      ...rounds.map(
        (r) =>
          `  ${r.kind.padEnd(33)}${fmt(r.publishMs).padStart(9)}${fmt(r.lastAppliedMs).padStart(14)}${fmt(r.lastAckMs).padStart(10)}${String(r.deltaBytes).padStart(14)}  (${r.validateMs}/${r.computeMs}/${r.encodeMs})`,
      ),
      `  median${' '.repeat(27)}${fmt(median(rounds.map((r) => r.publishMs))).padStart(9)}${fmt(median(rounds.map((r) => r.lastAppliedMs))).padStart(14)}${fmt(median(rounds.map((r) => r.lastAckMs))).padStart(10)}`,
      '',
      `(published: the controller logged the new mesh state, including the ${50} ms debounce and the re-validation;`,
      ' last ACK: the latest ACK timestamp the controller recorded for that version)',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const c of children) c.send('stop');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
