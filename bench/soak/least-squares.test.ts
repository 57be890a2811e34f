// The soak's slope fit on hand-made series: a straight line, flat noise, too few points.
import { describe, expect, it } from 'vitest';
import { afterWarmUp, fitSlope } from './least-squares.js';

describe('fitSlope', () => {
  it('finds the slope of a straight line, per hour, with no residual', () => {
    const pts = Array.from({ length: 13 }, (_, i) => ({ tSec: i * 300, value: 100 + 2 * i }));
    const f = fitSlope(pts);
    expect(f?.slopePerHour).toBeCloseTo(24, 9); // +2 every 5 minutes
    expect(f?.residualSd).toBeCloseTo(0, 9);
    expect(f?.windowHours).toBeCloseTo(1, 9);
    expect(f?.n).toBe(13);
  });

  it('a sawtooth around a level has a slope near 0 and a residual the size of the tooth', () => {
    const pts = Array.from({ length: 60 }, (_, i) => ({ tSec: i * 10, value: 50 + (i % 2 === 0 ? 3 : -3) }));
    const f = fitSlope(pts);
    // the slope is indistinguishable from 0: within two standard errors
    expect(Math.abs(f?.slopePerHour ?? NaN)).toBeLessThan(2 * (f?.stderrPerHour ?? 0));
    expect(f?.residualSd).toBeGreaterThan(2.9);
  });

  it('needs three samples at two times at least', () => {
    expect(fitSlope([])).toBeUndefined();
    expect(
      fitSlope([
        { tSec: 0, value: 1 },
        { tSec: 1, value: 2 },
      ]),
    ).toBeUndefined();
    expect(fitSlope([0, 0, 0].map((v) => ({ tSec: 5, value: v })))).toBeUndefined();
  });
});

describe('afterWarmUp', () => {
  it('keeps the samples from the given fraction of the run on', () => {
    const pts = [0, 10, 25, 26, 99].map((tSec) => ({ tSec, value: 0 }));
    expect(afterWarmUp(pts, 100, 0.25).map((p) => p.tSec)).toStrictEqual([25, 26, 99]);
  });
});
