// Prints the soak's report: per mesh process the RSS and fd slopes over the fitted window (after
// warm-up) with the noise they are judged against, what each lane carried, every error by kind
// (injected ones apart), and the verdict with its reasons.
import type { TallySnapshot } from './error-tally.js';
import { AIMS, type SeriesJudgement, type SoakVerdict } from './soak-verdict.js';
import { textTable } from '../common/text-table.js';

/** Log lines of one process at warn or above during the run. */
export interface LogLevels {
  warn: number;
  error: number;
  /** "warn: <msg>" / "error: <msg>" -> count */
  messages: Record<string, number>;
}

const f = (n: number | undefined, d = 1): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d);

function slope(j: SeriesJudgement, d: number): string {
  return j.fit ? `${f(j.fit.slopePerHour, d)} ± ${f(j.fit.stderrPerHour, d)}` : 'n/a';
}

function flat(j: SeriesJudgement): string {
  if (j.flat === undefined) return 'n/a';
  if (!j.flat) return 'RISING';
  return j.rise < -j.noise ? 'falling' : 'flat';
}

export function printReport(
  v: SoakVerdict,
  tally: TallySnapshot,
  o: {
    runSec: number;
    sampleSec: number;
    interrupted: boolean;
    logLines: Record<string, LogLevels>;
    note?: string | undefined;
  },
): string {
  let out = '';
  const mins = (o.runSec / 60).toFixed(1);
  out += `bench/soak: ${mins} min of mixed load${o.interrupted ? ' (interrupted: Ctrl-C)' : ''}, sampled every ${o.sampleSec} s; slopes fitted over the last ${(100 * (1 - AIMS.warmUpFraction)).toFixed(0)}% (least squares)\n\n`;
  out += textTable([
    [
      'process',
      'RSS MB',
      'RSS MB/hour',
      'rise/noise MB',
      'RSS',
      'fds',
      'fds/hour',
      'rise/noise',
      'fds',
      'log warn/error',
    ],
    ...v.processes.map((p) => [
      p.name,
      f(p.lastRssMb),
      slope(p.rssMb, 1),
      `${f(p.rssMb.rise)}/${f(p.rssMb.noise)}`,
      flat(p.rssMb),
      f(p.lastFds, 0),
      slope(p.fds, 1),
      `${f(p.fds.rise)}/${f(p.fds.noise)}`,
      flat(p.fds),
      `${o.logLines[p.name]?.warn ?? 0}/${o.logLines[p.name]?.error ?? 0}`,
    ]),
  ]);
  out += '\n';
  const lanes = Object.entries(tally.carried);
  out += textTable([
    ['lane', 'requests', 'MB carried', 'per second'],
    ...lanes.map(([k, c]) => [k, String(c.requests), f(c.bytes / 1e6, 2), f(c.requests / o.runSec, 1)]),
    [
      'total',
      String(lanes.reduce((a, [, c]) => a + c.requests, 0)),
      f(lanes.reduce((a, [, c]) => a + c.bytes, 0) / 1e6, 2),
      '',
    ],
  ]);
  const list = (m: Record<string, number>): string =>
    Object.keys(m).length === 0
      ? 'none'
      : Object.entries(m)
          .map(([k, n]) => `${k}: ${n}`)
          .join(', ');
  out += `\nerrors not injected (${v.unexpectedErrors}): ${list(tally.errors)}\n`;
  out += `injected errors seen as asked (${v.injectedErrors}): ${list(tally.injected)}\n`;
  for (const [name, l] of Object.entries(o.logLines))
    for (const [msg, n] of Object.entries(l.messages)) out += `log ${name}: ${n}x ${msg}\n`;
  out += `\nverdict: ${v.pass ? 'PASS' : 'FAIL'} (aim: flat memory and fds, zero errors not injected)\n`;
  for (const r of v.reasons) out += `  - ${r}\n`;
  out += `\n(loopback, ${o.note ?? 'shared machine'})\n`;
  return out;
}
