import { describe, expect, it } from 'vitest';
import {
  backoffCeiling,
  backoffDelay,
  ExponentialBackoff,
  type BackoffPolicy,
} from './exponential-backoff.js';
import { FakeClock } from './fake-clock.test-helper.js';

const DISCOVERY: BackoffPolicy = { initialMs: 100, maxMs: 5_000, factor: 2 };
const WORKERS: BackoffPolicy = { initialMs: 500, maxMs: 30_000, factor: 2 };
const ROTATION: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2 };

describe('backoffDelay', () => {
  it.each([
    // policy, attempt, random, delay
    { name: 'discovery, first retry, no jitter drawn', p: DISCOVERY, attempt: 0, r: 0, want: 100 },
    { name: 'discovery, first retry never below initial', p: DISCOVERY, attempt: 0, r: 0.99, want: 100 },
    { name: 'discovery, 2nd retry ceiling', p: DISCOVERY, attempt: 1, r: 0, want: 200 },
    { name: 'discovery, 2nd retry mid jitter', p: DISCOVERY, attempt: 1, r: 0.5, want: 150 },
    { name: 'discovery, capped at 5 s', p: DISCOVERY, attempt: 10, r: 0, want: 5_000 },
    { name: 'discovery, capped, most jitter', p: DISCOVERY, attempt: 10, r: 0.999, want: 2_503 },
    { name: 'workers, 1st', p: WORKERS, attempt: 0, r: 0, want: 500 },
    { name: 'workers, 4th', p: WORKERS, attempt: 3, r: 0, want: 4_000 },
    { name: 'workers, 4th half jitter', p: WORKERS, attempt: 3, r: 0.5, want: 3_000 },
    { name: 'workers, capped at 30 s', p: WORKERS, attempt: 7, r: 0, want: 30_000 },
    { name: 'rotation, 11th capped at 60 s', p: ROTATION, attempt: 10, r: 0, want: 60_000 },
    { name: 'factor 3', p: { initialMs: 10, maxMs: 1_000, factor: 3 }, attempt: 2, r: 0, want: 90 },
  ])('$name -> $want ms', ({ p, attempt, r, want }) => {
    expect(backoffDelay(p, attempt, r)).toBe(want);
  });

  it('stays within [max(initial, ceiling/2), ceiling] for any random draw', () => {
    for (const p of [DISCOVERY, WORKERS, ROTATION])
      for (let attempt = 0; attempt < 12; attempt++)
        for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.999]) {
          const d = backoffDelay(p, attempt, r);
          const ceiling = backoffCeiling(p, attempt);
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(d).toBeGreaterThanOrEqual(Math.max(p.initialMs, ceiling / 2));
        }
  });
});

describe('ExponentialBackoff on a fake clock', () => {
  it('doubles per failure, draws jitter from the injected source, resets on success', () => {
    const draws = [0, 0.5, 0, 0, 0.5];
    const b = new ExponentialBackoff(WORKERS, { random: () => draws.shift() ?? 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([500, 750, 2_000]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect([b.next(), b.next()]).toEqual([500, 750]);
  });

  it('schedule() fires after the delay on the clock, replaces a pending retry, cancel() stops it', async () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const b = new ExponentialBackoff(DISCOVERY, { clock, random: () => 0 });
    expect(b.schedule(() => fired.push(clock.now()))).toBe(100);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([100]);
    expect(b.schedule(() => fired.push(-1))).toBe(200);
    expect(b.schedule(() => fired.push(clock.now()))).toBe(400); // replaces the 200 ms one
    await clock.advance(1_000);
    expect(fired).toEqual([100, 500]);
    b.schedule(() => fired.push(-2));
    b.cancel();
    await clock.advance(10_000);
    expect(fired).toEqual([100, 500]);
  });
});
