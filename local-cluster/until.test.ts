import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { until } from './until.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('until', () => {
  it('returns the first value that is neither undefined nor false', async () => {
    let calls = 0;
    const p = until('the third call', () => (++calls >= 3 ? { calls } : undefined), 1_000, 10);
    await vi.advanceTimersByTimeAsync(30);
    await expect(p).resolves.toEqual({ calls: 3 });
  });

  it.each([
    { name: 'true', value: true },
    { name: 'zero', value: 0 },
    { name: 'an empty string', value: '' },
  ])('counts $name as done', async ({ value }) => {
    await expect(until('a value', () => value)).resolves.toBe(value);
  });

  it('throws after the bound, naming what it waited for', async () => {
    let calls = 0;
    const p = until(
      'the pods to be enrolled',
      () => {
        calls++;
        return false;
      },
      200,
      50,
    );
    const failed = expect(p).rejects.toThrow('timed out after 200 ms waiting for the pods to be enrolled');
    await vi.advanceTimersByTimeAsync(300);
    await failed;
    // polled every 50 ms up to just past the deadline, not forever
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(calls).toBeLessThanOrEqual(6);
  });

  it('passes on an error thrown by the condition at once', async () => {
    await expect(
      until('a process', () => {
        throw new Error('the process exited');
      }),
    ).rejects.toThrow('the process exited');
  });
});
