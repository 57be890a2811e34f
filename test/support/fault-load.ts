// The host side of the fault suites' load: bundles the in-pod client (fault-load-client.ts; test/
// is not compiled into dist/, so esbuild, which vitest already installs, makes one .mjs of it),
// starts it in a pod, collects its result, and turns it into the row each fault reports - bytes
// lost, connections refused, connections reset, recovery time - printed for a reader and as one
// `AMBIT_FAULT_ROW {json}` line (also appended to $AMBIT_FAULT_REPORT_FILE when set) for the lead.
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalCluster } from '../../local-cluster/cluster.js';
import { spawnIn, type ManagedProcess } from '../../local-cluster/processes.js';
import { repoRoot } from '../../local-cluster/repo-root.js';
import type { ConnectionRecord, FaultLoadResult, FaultLoadSpec } from './fault-load-spec.js';

export type { ConnectionRecord, FaultLoadResult, FaultLoadSpec } from './fault-load-spec.js';

/** Bundles fault-load-client.ts into `dir`; returns the script's path. */
export function bundleLoadClient(dir: string): string {
  const root = repoRoot();
  const out = path.join(dir, 'fault-load-client.mjs');
  execFileSync(
    path.join(root, 'node_modules/.bin/esbuild'),
    [
      path.join(root, 'test/support/fault-load-client.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--log-level=warning',
      `--outfile=${out}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return out;
}

/** A running load client in a pod. */
export class FaultLoad {
  private constructor(
    readonly proc: ManagedProcess,
    readonly spec: FaultLoadSpec,
  ) {}

  static start(cluster: LocalCluster, script: string, pod: string, spec: FaultLoadSpec): FaultLoad {
    const p = cluster.pod(pod);
    const proc = cluster.track(
      spawnIn({ netns: p.netns, cgroup: cluster.podCgroup(p) }, `fault load in ${pod}`, [
        process.execPath,
        script,
        JSON.stringify(spec),
      ]),
    );
    return new FaultLoad(proc, spec);
  }

  /** Waits for the client to finish on its own (its duration, or the bulk transfer) and parses its line. */
  async result(timeoutMs: number): Promise<FaultLoadResult> {
    const timer = setTimeout(() => void this.proc.stop(this.spec.drainMs + 5_000), timeoutMs);
    await this.proc.wait();
    clearTimeout(timer);
    const line = this.proc.lines.find((l) => l.startsWith('{'));
    if (!line) throw new Error(`the fault load client printed no result: ${this.proc.tail()}`);
    return JSON.parse(line) as FaultLoadResult;
  }

  /** Ends it early (SIGTERM: stop opening, drain, report) and parses its line. */
  async stop(): Promise<FaultLoadResult> {
    void this.proc.stop(this.spec.drainMs + 5_000);
    return this.result(this.spec.drainMs + 10_000);
  }
}

export interface LoadSummary {
  connections: number;
  ok: number;
  refused: number;
  reset: number;
  hung: number;
  /** connections that ended cleanly with bytes missing (silent loss) */
  lost: number;
  bytesSent: number;
  bytesEchoed: number;
  /** bytes missing from connections that ended cleanly, plus bytes that came back different */
  bytesLost: number;
  /** bytes still in flight on connections the application saw reset or hang (not silent) */
  bytesCut: number;
}

export function summarize(records: ConnectionRecord[]): LoadSummary {
  const s: LoadSummary = {
    connections: records.length,
    ok: 0,
    refused: 0,
    reset: 0,
    hung: 0,
    lost: 0,
    bytesSent: 0,
    bytesEchoed: 0,
    bytesLost: 0,
    bytesCut: 0,
  };
  for (const r of records) {
    s[r.outcome]++;
    s.bytesSent += r.sent;
    s.bytesEchoed += r.echoed;
    s.bytesLost += r.corrupt + (r.outcome === 'lost' ? r.sent - r.echoed : 0);
    if (r.outcome === 'reset' || r.outcome === 'hung') s.bytesCut += r.sent - r.echoed;
  }
  return s;
}

/**
 * Recovery time: from `from` (the fault, or the restarted process's readiness) to the start of
 * the first new connection that succeeded after the last failed attempt started at or after
 * `from`; 0 when no connection started after `from` failed. Undefined when none succeeded after.
 */
export function recoveryMs(records: ConnectionRecord[], from: number): number | undefined {
  const after = records.filter((r) => r.startAt >= from && r.kind !== 'bulk');
  const failed = after.filter((r) => r.outcome !== 'ok');
  if (failed.length === 0) return 0;
  const lastFailStart = Math.max(...failed.map((r) => r.startAt));
  const okAfter = after.filter((r) => r.outcome === 'ok' && r.startAt > lastFailStart);
  if (okAfter.length === 0) return undefined;
  return Math.min(...okAfter.map((r) => r.startAt)) - from;
}

export interface FaultRow {
  fault: string;
  bytesLost: number;
  refused: number;
  reset: number;
  /** ms; null when it never recovered within the run */
  recoveryMs: number | null;
  /** what the numbers stand on and anything else measured (drain, RSS peak, ...) */
  notes: Record<string, unknown>;
}

/** Prints the row for a reader and as one machine-readable line. */
export function reportFault(row: FaultRow): void {
  const rec = row.recoveryMs === null ? 'never' : `${row.recoveryMs} ms`;
  const line = `AMBIT_FAULT_ROW ${JSON.stringify(row)}`;
  console.log(
    `fault "${row.fault}": bytes lost ${row.bytesLost}, refused ${row.refused}, reset ${row.reset}, recovery ${rec}\n${line}`,
  );
  const file = process.env.AMBIT_FAULT_REPORT_FILE;
  if (file) appendFileSync(file, `${line}\n`);
}

/** The failures of a run, short: for an assertion message that says what happened. */
/** pino's `time` (epoch ms) of a process's first log line matching `re`, else now. */
export function lineTime(p: { lines: readonly string[] }, re: RegExp): number {
  const line = p.lines.find((l) => re.test(l));
  const t = line ? (JSON.parse(line) as { time?: number }).time : undefined;
  return typeof t === 'number' ? t : Date.now();
}

export function failuresText(records: ConnectionRecord[], from = 0, max = 8): string {
  const bad = records.filter((r) => r.outcome !== 'ok');
  return bad
    .slice(0, max)
    .map((r) => `${r.kind} +${r.startAt - from}..${r.endAt - from}ms ${r.outcome} ${r.error ?? ''}`)
    .join('; ');
}
