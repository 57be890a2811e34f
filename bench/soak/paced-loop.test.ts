// The soak's fixed-rate loop on fake time: the rate is kept without catching up in bursts beyond
// what is due, starts beyond maxInFlight are dropped and reported, and stop() waits for work in flight.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PacedLoop, type LoopTimers } from './paced-loop.js';

const timers: LoopTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  now: () => Date.now(),
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PacedLoop', () => {
  it('starts rate per second and keeps the pace', async () => {
    let fired = 0;
    const loop = new PacedLoop({
      rate: 50,
      maxInFlight: 10,
      fire: () => {
        fired++;
        return Promise.resolve();
      },
      onBacklog: () => expect.unreachable('no backlog at this rate'),
      timers,
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fired).toBe(100);
    await loop.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toBe(100);
  });

  it('drops starts beyond maxInFlight and reports each; stop() waits for the work in flight', async () => {
    const pending: (() => void)[] = [];
    let backlog = 0;
    const loop = new PacedLoop({
      rate: 10,
      maxInFlight: 3,
      fire: () => new Promise<void>((r) => pending.push(r)),
      onBacklog: () => backlog++,
      timers,
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pending).toHaveLength(3);
    expect(backlog).toBe(7);
    expect(loop.issued).toBe(10);
    let stopped = false;
    void loop.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(stopped).toBe(false);
    pending.splice(0).forEach((r) => r());
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(true);
  });

  it('a rejected unit of work frees its slot', async () => {
    let fired = 0;
    const loop = new PacedLoop({
      rate: 10,
      maxInFlight: 1,
      fire: () => {
        fired++;
        return Promise.reject(new Error('counted by the lane'));
      },
      onBacklog: () => expect.unreachable('the slot is freed'),
      timers,
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(1_000);
    await loop.stop();
    expect(fired).toBe(10);
  });
});
