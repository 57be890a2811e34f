// The reconcile loop on fake time: passes only while the gate is open, nudges debounced into one
// pass, a nudge during a pass gives exactly one more, periodic resync, backoff after failures
// (at least the API's Retry-After), and nothing after stop().
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { KubeApiError } from './kube-api.js';
import { ManualLeaderGate } from './leader-gate.test-helper.js';
import { LeaderReconcileLoop, type PassOutcome } from './leader-reconcile-loop.js';

const logger = pino({ level: 'silent' });

function setup(o: { leading?: boolean; pass?: (n: number) => Promise<PassOutcome> } = {}) {
  const clock = new FakeClock();
  const gate = new ManualLeaderGate(o.leading ?? true);
  const at: number[] = [];
  const loop = new LeaderReconcileLoop({
    gate,
    clock,
    logger,
    debounceMs: 100,
    resyncMs: 10_000,
    backoff: { initialMs: 1_000, maxMs: 8_000, factor: 2 },
    random: () => 0,
    pass: () => {
      at.push(clock.now());
      return o.pass ? o.pass(at.length) : Promise.resolve({ retry: false });
    },
  });
  return { clock, gate, at, loop };
}

describe('LeaderReconcileLoop', () => {
  it('passes at start, on resync, and once for a burst of nudges', async () => {
    const { clock, at, loop } = setup();
    loop.start();
    await clock.advance(0);
    expect(at).toStrictEqual([0]);
    loop.nudge();
    await clock.advance(50);
    loop.nudge();
    loop.nudge();
    await clock.advance(1_000);
    expect(at).toStrictEqual([0, 100]);
    await clock.advance(10_000);
    expect(at).toStrictEqual([0, 100, 10_100]);
    await loop.stop();
  });

  it('a follower never passes; gaining the lead passes at once, losing it stops', async () => {
    const { clock, gate, at, loop } = setup({ leading: false });
    loop.start();
    loop.nudge();
    await clock.advance(60_000);
    expect(at).toStrictEqual([]);
    gate.set(true);
    await clock.advance(0);
    expect(at).toStrictEqual([60_000]);
    gate.set(false);
    loop.nudge();
    await clock.advance(60_000);
    expect(at).toStrictEqual([60_000]);
    await loop.stop();
  });

  it('backs off after failures, at least the Retry-After asked, and resets after a success', async () => {
    const fails = new Set([1, 2, 3]);
    const { clock, at, loop } = setup({
      pass: (n) =>
        n === 3
          ? Promise.reject(new KubeApiError('throttled', 429, 'TooManyRequests', 5_000))
          : fails.has(n)
            ? Promise.reject(new Error('boom'))
            : Promise.resolve({ retry: false }),
    });
    loop.start();
    await clock.advance(30_000);
    // 0, +1 s, +2 s, then the 429 asks 5 s (more than the 4 s backoff), then resync after 10 s
    expect(at).toStrictEqual([0, 1_000, 3_000, 8_000, 18_000, 28_000]);
    await loop.stop();
  });

  it('a retry outcome runs the pass again with backoff', async () => {
    const { clock, at, loop } = setup({ pass: (n) => Promise.resolve({ retry: n < 3 }) });
    loop.start();
    await clock.advance(5_000);
    expect(at).toStrictEqual([0, 1_000, 3_000]);
    await loop.stop();
  });

  it('a nudge during a pass gives one more pass after it', async () => {
    let release: () => void = () => undefined;
    const { clock, at, loop } = setup({
      pass: (n) =>
        n === 1
          ? new Promise<PassOutcome>((resolve) => {
              release = () => resolve({ retry: false });
            })
          : Promise.resolve({ retry: false }),
    });
    loop.start();
    await clock.advance(0);
    loop.nudge();
    loop.nudge();
    await clock.advance(500);
    expect(at).toStrictEqual([0]);
    release();
    // the pass's settlement runs on microtasks, not on the clock
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await clock.advance(1_000);
    expect(at).toStrictEqual([0, 600]);
    await loop.stop();
  });

  it('stop() ends scheduling', async () => {
    const { clock, at, loop } = setup();
    loop.start();
    await clock.advance(0);
    await loop.stop();
    loop.nudge();
    await clock.advance(60_000);
    expect(at).toStrictEqual([0]);
  });
});
