// What one bench/l7 run measured per path, and issue 9's aims for the waypoint judged against it
// (pure: figures in, verdicts out; print-report.ts prints them). Each verdict is pass, fail or
// n/a with the reason, never a guess: a missing row (nginx not installed, the waypoint not
// started) makes the aims that need it n/a.

export interface RateResult {
  /** The fixed rate asked for, req/s. */
  rate: number;
  /** Completed responses per second (median of the runs). */
  rps: number;
  p50ms: number;
  p99ms: number;
  ok: number;
  /** Connection errors and requests unanswered at the deadline. */
  failed: number;
  non2xx: number;
  /** CPU seconds per wall second of each measured process group. */
  vcpu: Record<string, number>;
  /** Resident memory of each group at the end of the runs. */
  rssBytes: Record<string, number>;
}

export interface MaxResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  failed: number;
  non2xx: number;
  vcpu: Record<string, number>;
}

export interface PathResult {
  path: string;
  /** Why this path was not measured (the run goes on without it). */
  skipped?: string;
  rates: RateResult[];
  max?: MaxResult;
}

export const AIMS = {
  /** waypoint p99 at most this much above nginx's at 1,000 req/s */
  p99AboveNginxMs: 2,
  /** waypoint max req/s per core at least this share of nginx's */
  maxPerCoreOfNginx: 0.5,
  /** at 1,000 req/s of 1 KB responses */
  vcpuAt1k: 0.25,
  rssBytesAt1k: 100 * 1024 * 1024,
} as const;

export interface Verdict {
  aim: string;
  /** undefined: could not be judged (see value) */
  pass: boolean | undefined;
  value: string;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The CPU a path's proxies (or one group of them) used, or undefined for the direct path. */
export function groupVcpu(vcpu: Record<string, number>, group?: string): number | undefined {
  if (group !== undefined) return vcpu[group];
  return Object.keys(vcpu).length === 0 ? undefined : sum(vcpu);
}

/** vCPU scaled to 1,000 completed req/s. */
export function vcpuPer1k(r: RateResult, group?: string): number | undefined {
  const v = groupVcpu(r.vcpu, group);
  return v === undefined || r.rps <= 0 ? undefined : (v * 1000) / r.rps;
}

/** Max req/s per core the proxies (or one group) used during the closed-loop run. */
export function maxPerCore(m: MaxResult, group?: string): number | undefined {
  const v = groupVcpu(m.vcpu, group);
  return v === undefined || v <= 0 ? undefined : m.rps / v;
}

export function rateOf(p: PathResult | undefined, rate: number): RateResult | undefined {
  return p?.rates.find((r) => r.rate === rate);
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const na = (aim: string, why: string): Verdict => ({ aim, pass: undefined, value: `n/a: ${why}` });

export function judge(results: PathResult[]): Verdict[] {
  const find = (name: string) => results.find((r) => r.path === name && r.skipped === undefined);
  const missing = (name: string) =>
    results.find((r) => r.path === name)?.skipped ?? `no ${name} row in this run`;
  const wp = find('waypoint');
  const ng = find('nginx');
  const wp1k = rateOf(wp, 1000);
  const ng1k = rateOf(ng, 1000);
  const out: Verdict[] = [];

  const a1 = `waypoint p99 <= nginx p99 + ${AIMS.p99AboveNginxMs} ms at 1,000 req/s`;
  if (!wp1k) out.push(na(a1, wp ? 'no 1,000 req/s run' : missing('waypoint')));
  else if (!ng1k) out.push(na(a1, ng ? 'no 1,000 req/s run' : missing('nginx')));
  else {
    const d = wp1k.p99ms - ng1k.p99ms;
    const lost = wp1k.failed + wp1k.non2xx;
    out.push({
      aim: a1,
      // a p99 over requests that failed is no latency figure
      pass: d <= AIMS.p99AboveNginxMs && lost === 0,
      value: `${wp1k.p99ms.toFixed(2)} ms vs ${ng1k.p99ms.toFixed(2)} ms (${d >= 0 ? '+' : ''}${d.toFixed(2)} ms)${lost ? `, ${lost} requests failed` : ''}`,
    });
  }

  const a2 = `waypoint max req/s per core >= ${AIMS.maxPerCoreOfNginx} x nginx's`;
  const wpPer = wp?.max && maxPerCore(wp.max, 'waypoint');
  const ngPer = ng?.max && maxPerCore(ng.max, 'nginx');
  if (!wp) out.push(na(a2, missing('waypoint')));
  else if (!ng) out.push(na(a2, missing('nginx')));
  else if (wpPer === undefined || ngPer === undefined) out.push(na(a2, 'no CPU reading of the max run'));
  else {
    out.push({
      aim: a2,
      pass: wpPer >= AIMS.maxPerCoreOfNginx * ngPer,
      value: `${wpPer.toFixed(0)} vs ${ngPer.toFixed(0)} req/s per core (${(wpPer / ngPer).toFixed(2)}x)`,
    });
  }

  const a3 = `waypoint <= ${AIMS.vcpuAt1k} vCPU at 1,000 req/s`;
  const per1k = wp1k && vcpuPer1k(wp1k, 'waypoint');
  if (!wp1k) out.push(na(a3, wp ? 'no 1,000 req/s run' : missing('waypoint')));
  else if (per1k === undefined) out.push(na(a3, 'no CPU reading'));
  else out.push({ aim: a3, pass: per1k <= AIMS.vcpuAt1k, value: `${per1k.toFixed(3)} vCPU per 1,000 req/s` });

  const a4 = `waypoint RSS <= ${mb(AIMS.rssBytesAt1k)} at 1,000 req/s`;
  const rss = wp1k?.rssBytes.waypoint;
  if (!wp1k) out.push(na(a4, wp ? 'no 1,000 req/s run' : missing('waypoint')));
  else if (rss === undefined) out.push(na(a4, 'no RSS reading'));
  else out.push({ aim: a4, pass: rss <= AIMS.rssBytesAt1k, value: mb(rss) });
  return out;
}
