// The soak's verdict on made-up series: a flat sawtooth passes, a steady climb fails naming the
// process, warm-up growth is ignored, a short series cannot pass, and errors not injected fail.
import { describe, expect, it } from 'vitest';
import type { TallySnapshot } from './error-tally.js';
import { judgeSoak, type ProcessSeries } from './soak-verdict.js';

const MB = 1024 * 1024;
const clean: TallySnapshot = { errors: {}, injected: { 'http-503': 4 }, carried: {} };

/** 20 minutes sampled every 10 s; rss(t) and fds(t) give the values. */
function series(name: string, rss: (t: number) => number, fds: (t: number) => number): ProcessSeries {
  return {
    name,
    samples: Array.from({ length: 121 }, (_, i) => ({
      tSec: i * 10,
      rssBytes: rss(i * 10) * MB,
      fds: fds(i * 10),
    })),
  };
}
const sawtooth = (t: number) => 80 + ((t / 10) % 6) - 3; // +-3 MB of GC
const warmUp = (t: number) => (t < 200 ? 40 + t / 5 : 80) + ((t / 10) % 2); // grows, then flat

describe('judgeSoak', () => {
  it('passes flat memory and fds with injected errors only', () => {
    const v = judgeSoak(
      [series('ztunnel node-1', sawtooth, () => 30), series('waypoint', warmUp, (t) => 25 + ((t / 10) % 3))],
      1200,
      clean,
    );
    expect(v.reasons).toStrictEqual([]);
    expect(v.pass).toBe(true);
    expect(v.injectedErrors).toBe(4);
    expect(Math.abs(v.processes[0]?.rssMb.fit?.slopePerHour ?? NaN)).toBeLessThan(2);
  });

  it('fails a steady climb in RSS or fds, naming the process', () => {
    const v = judgeSoak(
      [
        series(
          'ztunnel node-2',
          (t) => sawtooth(t) + t / 60,
          (t) => 30 + Math.floor(t / 60),
        ),
      ],
      1200,
      clean,
    );
    expect(v.pass).toBe(false);
    expect(v.reasons).toHaveLength(2);
    expect(v.reasons[0]).toMatch(/^ztunnel node-2: RSS rose 15\.\d MB/);
    expect(v.reasons[1]).toMatch(/^ztunnel node-2: fds rose/);
    expect(v.processes[0]?.fds.fit?.slopePerHour).toBeCloseTo(60, -1);
  });

  it('a fall is not a leak: memory shrinking after a burst passes', () => {
    const v = judgeSoak(
      [
        series(
          'waypoint',
          (t) => 200 - t / 20,
          () => 25,
        ),
      ],
      1200,
      clean,
    );
    expect(v.processes[0]?.rssMb.rise).toBeLessThan(-40);
    expect(v.pass).toBe(true);
  });

  it('cannot pass without enough samples after the warm-up', () => {
    const v = judgeSoak([{ name: 'controller', samples: [{ tSec: 0, rssBytes: MB, fds: 1 }] }], 1200, clean);
    expect(v.pass).toBe(false);
    expect(v.reasons[0]).toBe('controller: too few samples after warm-up to fit RSS');
  });

  it('fails on errors the soak did not inject, listing them by kind', () => {
    const v = judgeSoak([series('controller', sawtooth, () => 20)], 1200, {
      ...clean,
      errors: { ECONNRESET: 2, 'http-502': 1 },
    });
    expect(v.pass).toBe(false);
    expect(v.unexpectedErrors).toBe(3);
    expect(v.reasons).toStrictEqual(['3 errors not injected: ECONNRESET 2, http-502 1']);
  });
});
