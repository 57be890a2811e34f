// Prints one bench/l7 run as a table (one row per path), the ratios to nginx, the waypoint's own
// figures and the aims with pass/fail. Formatting only: the figures come from report.ts.
import { groupVcpu, maxPerCore, rateOf, vcpuPer1k, type PathResult, type Verdict } from './report.js';
import { textTable } from '../common/text-table.js';

const f = (n: number | undefined, d = 2): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d);
const mb = (b: number | undefined): string => (b === undefined ? 'n/a' : (b / 1024 / 1024).toFixed(1));
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export function printReport(
  rs: PathResult[],
  verdicts: Verdict[],
  o: { seconds: number; quick: boolean; note?: string | undefined },
): void {
  const out = (s: string) => process.stdout.write(s);
  const rates = [...new Set(rs.flatMap((r) => r.rates.map((x) => x.rate)))].sort((a, b) => a - b);
  const head = [
    'path',
    ...rates.flatMap((x) => [`${x}/s got`, 'p50 ms', 'p99 ms']),
    'max req/s',
    'max p99 ms',
    'vCPU/1k req/s',
    'max req/s/core',
    'RSS MB',
    'lost',
  ];
  const rows = rs.flatMap((r) => {
    if (r.skipped !== undefined) return [];
    const at1k = rateOf(r, 1000);
    const lost =
      r.rates.reduce((a, x) => a + x.failed + x.non2xx, 0) + (r.max ? r.max.failed + r.max.non2xx : 0);
    const row = [
      r.path,
      ...rates.flatMap((x) => {
        const q = rateOf(r, x);
        return q ? [f(q.rps, 0), f(q.p50ms), f(q.p99ms)] : ['', '', ''];
      }),
      f(r.max?.rps, 0),
      f(r.max?.p99ms),
      at1k ? f(vcpuPer1k(at1k), 3) : 'n/a',
      r.max ? f(maxPerCore(r.max), 0) : 'n/a',
      at1k && Object.keys(at1k.rssBytes).length > 0 ? mb(sum(at1k.rssBytes)) : 'n/a',
      String(lost),
    ];
    return [row];
  });
  out(textTable([head, ...rows]));
  for (const r of rs) if (r.skipped !== undefined) out(`${r.path}: skipped: ${r.skipped}\n`);
  out(
    '(1 KB responses, HTTP/1.1 keep-alive; fixed rates open loop, median of runs; max: 32 connections closed loop;\n' +
      ' vCPU and RSS: all proxy processes of the path; lost: failed + non-2xx over all runs)\n',
  );

  const ng = rs.find((r) => r.path === 'nginx' && r.skipped === undefined);
  if (ng) {
    out('\nratios to nginx (p99 at each rate, max req/s, max req/s per core)\n');
    for (const r of rs.filter((x) => x !== ng && x.skipped === undefined)) {
      const p99 = rates.map((x) => {
        const a = rateOf(r, x);
        const b = rateOf(ng, x);
        return `${x}/s ${a && b ? f(a.p99ms / b.p99ms) : 'n/a'}x`;
      });
      const perCore = r.max && ng.max ? [maxPerCore(r.max), maxPerCore(ng.max)] : [];
      out(
        `${r.path}: p99 ${p99.join(', ')}; max ${r.max && ng.max ? f(r.max.rps / ng.max.rps) : 'n/a'}x; ` +
          `per core ${perCore[0] !== undefined && perCore[1] !== undefined ? f(perCore[0] / perCore[1]) : 'n/a'}x\n`,
      );
    }
  }

  const wp = rs.find((r) => r.path === 'waypoint' && r.skipped === undefined);
  if (wp) {
    out('\nwaypoint process alone (the ztunnels of its row not counted)\n');
    for (const q of wp.rates) {
      out(
        `  ${q.rate}/s: ${f(groupVcpu(q.vcpu, 'waypoint'), 3)} vCPU, ${f(vcpuPer1k(q, 'waypoint'), 3)} vCPU per 1,000 req/s, ` +
          `RSS ${mb(q.rssBytes.waypoint)} MB\n`,
      );
    }
    if (wp.max) out(`  max: ${f(maxPerCore(wp.max, 'waypoint'), 0)} req/s per waypoint core\n`);
  }

  out('\naims (issue 9)\n');
  for (const v of verdicts)
    out(`  [${v.pass === undefined ? 'n/a ' : v.pass ? 'pass' : 'FAIL'}] ${v.aim}: ${v.value}\n`);
  out(
    `\n(${o.seconds.toFixed(0)} s${o.quick ? ', --quick: short runs, figures indicative only' : ''}; loopback, ` +
      `${o.note ?? 'shared machine'})\n`,
  );
}
