import { describe, expect, it } from 'vitest';
import { mirrorFires, pickBackend } from './backend-pick.js';

/** `n` evenly spaced draws over [0, 1): a sweep gives exact shares instead of sampled ones. */
const sweep = (n: number): number[] => Array.from({ length: n }, (_, i) => i / n);

function shares<B extends { name: string; weight: number }>(
  backends: readonly B[],
  n: number,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of sweep(n)) {
    const b = pickBackend(backends, () => r);
    const k = b?.name ?? '(none)';
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, c / n]));
}

describe('pickBackend', () => {
  it('MeshHTTPRouteWeight: 70/30 split', () => {
    const b = [
      { name: 'echo-v1', weight: 70 },
      { name: 'echo-v2', weight: 30 },
    ];
    expect(shares(b, 1000)).toEqual({ 'echo-v1': 0.7, 'echo-v2': 0.3 });
  });

  it('MeshGRPCRouteWeight: 70/30/0, weight 0 never picked', () => {
    const b = [
      { name: 'echo-v1', weight: 70 },
      { name: 'echo-v2', weight: 30 },
      { name: 'echo-v3', weight: 0 },
    ];
    expect(shares(b, 1000)).toEqual({ 'echo-v1': 0.7, 'echo-v2': 0.3 });
  });

  it('90/10 canary over a seeded generator stays near its weights', () => {
    // mulberry32: a fixed seed keeps the test deterministic while the draws look random
    let seed = 0x9e3779b9;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const b = [
      { name: 'stable', weight: 90 },
      { name: 'canary', weight: 10 },
    ];
    let canary = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (pickBackend(b, random)?.name === 'canary') canary++;
    // binomial sd at n=20000, p=0.1 is ~0.2 points: 1.5 points is >7 sd
    expect(Math.abs(canary / n - 0.1)).toBeLessThan(0.015);
  });

  it.each([
    { name: 'empty', backends: [], want: undefined },
    {
      name: 'all weights 0',
      backends: [
        { name: 'a', weight: 0 },
        { name: 'b', weight: 0 },
      ],
      want: undefined,
    },
    {
      name: 'negative counts as 0',
      backends: [
        { name: 'a', weight: -5 },
        { name: 'b', weight: 1 },
      ],
      want: 'b',
    },
    {
      name: 'NaN counts as 0',
      backends: [
        { name: 'a', weight: NaN },
        { name: 'b', weight: 1 },
      ],
      want: 'b',
    },
    {
      name: 'zero weight first',
      backends: [
        { name: 'a', weight: 0 },
        { name: 'b', weight: 3 },
      ],
      want: 'b',
    },
  ])('$name -> $want', ({ backends, want }) => {
    for (const r of [0, 0.5, 0.999]) expect(pickBackend(backends, () => r)?.name).toBe(want);
  });

  it('boundaries: [0, w1) first, [w1, w1+w2) second', () => {
    const b = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 3 },
    ];
    expect(pickBackend(b, () => 0)?.name).toBe('a');
    expect(pickBackend(b, () => 0.2499)?.name).toBe('a');
    expect(pickBackend(b, () => 0.25)?.name).toBe('b');
    expect(pickBackend(b, () => 0.9999)?.name).toBe('b');
  });

  it('a random() of 1 or more still picks a backend that takes traffic', () => {
    const b = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
      { name: 'c', weight: 0 },
    ];
    expect(pickBackend(b, () => 1)?.name).toBe('b');
  });

  it('one backend: no draw', () => {
    let draws = 0;
    const one = [{ name: 'only', weight: 1 }];
    expect(
      pickBackend(one, () => {
        draws++;
        return 0.5;
      })?.name,
    ).toBe('only');
    expect(draws).toBe(0);
  });

  it('returns the caller object itself', () => {
    const b = [{ name: 'x', weight: 2, extra: { port: 8080 } }];
    expect(pickBackend(b, () => 0)).toBe(b[0]);
  });
});

describe('mirrorFires', () => {
  const rate = (m: Parameters<typeof mirrorFires>[0], n = 1000) =>
    sweep(n).filter((r) => mirrorFires(m, () => r)).length / n;

  it.each([
    { name: 'neither: every request', m: {}, want: 1 },
    { name: 'percent 100', m: { percent: 100 }, want: 1 },
    { name: 'percent 0', m: { percent: 0 }, want: 0 },
    { name: 'percent 25', m: { percent: 25 }, want: 0.25 },
    { name: 'fraction 1/4', m: { fraction: { numerator: 1, denominator: 4 } }, want: 0.25 },
    { name: 'fraction default denominator 100', m: { fraction: { numerator: 10 } }, want: 0.1 },
    { name: 'fraction 0', m: { fraction: { numerator: 0, denominator: 7 } }, want: 0 },
    { name: 'fraction above 1', m: { fraction: { numerator: 5, denominator: 4 } }, want: 1 },
    {
      name: 'fraction with denominator 0 never fires',
      m: { fraction: { numerator: 1, denominator: 0 } },
      want: 0,
    },
    {
      name: 'percent wins over fraction',
      m: { percent: 50, fraction: { numerator: 1, denominator: 10 } },
      want: 0.5,
    },
  ])('$name -> $want', ({ m, want }) => {
    expect(rate(m)).toBeCloseTo(want, 10);
  });

  it('draws only when the share is partial', () => {
    let draws = 0;
    const random = () => {
      draws++;
      return 0.5;
    };
    mirrorFires({}, random);
    mirrorFires({ percent: 100 }, random);
    mirrorFires({ percent: 0 }, random);
    expect(draws).toBe(0);
    mirrorFires({ percent: 30 }, random);
    expect(draws).toBe(1);
  });
});
