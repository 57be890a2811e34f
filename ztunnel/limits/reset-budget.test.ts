import { describe, expect, it } from 'vitest';
import { ResetBudget } from './reset-budget.js';

describe('ResetBudget', () => {
  it('is over once the window count passes the budget, and starts over with the next window', () => {
    let now = 0;
    const b = new ResetBudget(3, 10_000, () => now);
    expect([b.record(), b.record(), b.record()]).toEqual([false, false, false]);
    expect(b.record()).toBe(true);
    now = 10_000;
    expect(b.record()).toBe(false);
  });
});
