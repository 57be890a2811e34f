import { describe, expect, it } from 'vitest';
import { judge, maxPerCore, vcpuPer1k, type PathResult, type RateResult } from './report.js';

const MB = 1024 * 1024;

function rate(o: Partial<RateResult> & { rate: number }): RateResult {
  return {
    rps: o.rate,
    p50ms: 0.5,
    p99ms: 1,
    ok: o.rate,
    failed: 0,
    non2xx: 0,
    vcpu: {},
    rssBytes: {},
    ...o,
  };
}

const nginx: PathResult = {
  path: 'nginx',
  rates: [rate({ rate: 1000, p99ms: 1.5, vcpu: { nginx: 0.05 }, rssBytes: { nginx: 10 * MB } })],
  max: { rps: 20_000, p50ms: 1, p99ms: 3, failed: 0, non2xx: 0, vcpu: { nginx: 1 } },
};

function waypoint(
  o: { p99ms?: number; vcpu?: number; rss?: number; maxRps?: number; failed?: number } = {},
): PathResult {
  return {
    path: 'waypoint',
    rates: [
      rate({
        rate: 1000,
        p99ms: o.p99ms ?? 3,
        failed: o.failed ?? 0,
        vcpu: { waypoint: o.vcpu ?? 0.2, ztunnels: 0.3 },
        rssBytes: { waypoint: o.rss ?? 80 * MB, ztunnels: 150 * MB },
      }),
    ],
    max: {
      rps: o.maxRps ?? 12_000,
      p50ms: 2,
      p99ms: 5,
      failed: 0,
      non2xx: 0,
      vcpu: { waypoint: 1, ztunnels: 1.2 },
    },
  };
}

const passes = (rs: PathResult[]) => judge(rs).map((v) => v.pass);

describe('judge', () => {
  const cases: { description: string; results: PathResult[]; want: (boolean | undefined)[] }[] = [
    { description: 'all aims met', results: [nginx, waypoint()], want: [true, true, true, true] },
    {
      description: 'p99 exactly 2 ms above nginx passes',
      results: [nginx, waypoint({ p99ms: 3.5 })],
      want: [true, true, true, true],
    },
    {
      description: 'p99 too high',
      results: [nginx, waypoint({ p99ms: 3.6 })],
      want: [false, true, true, true],
    },
    {
      description: 'failed requests fail the p99 aim',
      results: [nginx, waypoint({ failed: 1 })],
      want: [false, true, true, true],
    },
    {
      description: 'under half the per-core max',
      results: [nginx, waypoint({ maxRps: 9_999 })],
      want: [true, false, true, true],
    },
    {
      description: 'too much CPU',
      results: [nginx, waypoint({ vcpu: 0.26 })],
      want: [true, true, false, true],
    },
    {
      description: 'too much memory',
      results: [nginx, waypoint({ rss: 101 * MB })],
      want: [true, true, true, false],
    },
    {
      description: 'nginx skipped: its comparisons are n/a, the absolute aims still judged',
      results: [{ path: 'nginx', skipped: 'nginx not found', rates: [] }, waypoint()],
      want: [undefined, undefined, true, true],
    },
    { description: 'no waypoint row', results: [nginx], want: [undefined, undefined, undefined, undefined] },
  ];
  it.each(cases)('$description', ({ results, want }) => {
    expect(passes(results)).toEqual(want);
  });

  it('says why an aim is n/a', () => {
    const v = judge([
      { path: 'nginx', skipped: 'nginx not found: apt-get install nginx', rates: [] },
      waypoint(),
    ]);
    expect(v[0]?.value).toBe('n/a: nginx not found: apt-get install nginx');
  });
});

describe('derived figures', () => {
  it('scales vCPU to 1,000 completed req/s, per group or for the whole path', () => {
    const r = rate({ rate: 5000, rps: 4000, vcpu: { waypoint: 0.8, ztunnels: 1.2 } });
    expect(vcpuPer1k(r, 'waypoint')).toBeCloseTo(0.2);
    expect(vcpuPer1k(r)).toBeCloseTo(0.5);
    expect(vcpuPer1k(rate({ rate: 100 }))).toBeUndefined(); // direct: no proxy
  });

  it('divides the max by the cores used, and gives nothing without a CPU reading', () => {
    expect(
      maxPerCore(
        { rps: 9000, p50ms: 1, p99ms: 2, failed: 0, non2xx: 0, vcpu: { waypoint: 0.9 } },
        'waypoint',
      ),
    ).toBeCloseTo(10_000);
    expect(
      maxPerCore({ rps: 9000, p50ms: 1, p99ms: 2, failed: 0, non2xx: 0, vcpu: { waypoint: 0 } }, 'waypoint'),
    ).toBeUndefined();
  });
});
