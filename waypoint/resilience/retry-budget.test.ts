// The retry budget as a table of (settings, requests in flight, retries already running) -> may
// one more retry start; plus the bookkeeping of ends.
import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.js';

function budgetWith(b: RetryBudget, requests: number, retries: number): RetryBudget {
  for (let i = 0; i < requests; i++) b.requestStarted();
  for (let i = 0; i < retries; i++) expect(b.tryStartRetry()).toBe(true);
  return b;
}

describe('RetryBudget', () => {
  it.each<{
    description: string;
    make: () => RetryBudget;
    requests: number;
    retries: number;
    allowed: boolean;
  }>([
    {
      description: 'default: 3 retries allowed with 1 request',
      make: () => new RetryBudget(),
      requests: 1,
      retries: 2,
      allowed: true,
    },
    {
      description: 'default: a 4th is not, with 10 requests (20% = 2 < min 3)',
      make: () => new RetryBudget(),
      requests: 10,
      retries: 3,
      allowed: false,
    },
    {
      description: 'default: 100 requests allow 20',
      make: () => new RetryBudget(),
      requests: 100,
      retries: 19,
      allowed: true,
    },
    {
      description: 'default: but not 21',
      make: () => new RetryBudget(),
      requests: 100,
      retries: 20,
      allowed: false,
    },
    {
      description: '50%: 10 requests allow 5',
      make: () => new RetryBudget({ percent: 50 }),
      requests: 10,
      retries: 4,
      allowed: true,
    },
    {
      description: '50%: not 6',
      make: () => new RetryBudget({ percent: 50 }),
      requests: 10,
      retries: 5,
      allowed: false,
    },
    {
      description: 'percent rounds down: 25% of 7 is 1, min 0',
      make: () => new RetryBudget({ percent: 25, minRetryConcurrency: 0 }),
      requests: 7,
      retries: 1,
      allowed: false,
    },
    {
      description: 'min 0 and 0%: no retry at all',
      make: () => new RetryBudget({ percent: 0, minRetryConcurrency: 0 }),
      requests: 50,
      retries: 0,
      allowed: false,
    },
    {
      description: 'maxRetries without a budget: a fixed cap',
      make: () => new RetryBudget(undefined, 2),
      requests: 1000,
      retries: 2,
      allowed: false,
    },
    {
      description: 'maxRetries under the cap',
      make: () => new RetryBudget(undefined, 2),
      requests: 1,
      retries: 1,
      allowed: true,
    },
    {
      description: 'a budget wins over maxRetries',
      make: () => new RetryBudget({ percent: 100, minRetryConcurrency: 0 }, 1),
      requests: 5,
      retries: 4,
      allowed: true,
    },
  ])('$description', ({ make, requests, retries, allowed }) => {
    expect(budgetWith(make(), requests, retries).tryStartRetry()).toBe(allowed);
  });

  it('ended retries and requests give room back; ends never go below zero', () => {
    const b = budgetWith(new RetryBudget({ percent: 0, minRetryConcurrency: 1 }), 2, 1);
    expect(b.tryStartRetry()).toBe(false);
    b.retryEnded();
    expect(b.tryStartRetry()).toBe(true);
    expect(b.active).toEqual({ requests: 2, retries: 1 });
    for (let i = 0; i < 5; i++) {
      b.retryEnded();
      b.requestEnded();
    }
    expect(b.active).toEqual({ requests: 0, retries: 0 });
  });

  it('the limit follows the requests in flight', () => {
    const b = budgetWith(new RetryBudget({ percent: 20, minRetryConcurrency: 1 }), 20, 0);
    expect(b.limit).toBe(4);
    for (let i = 0; i < 10; i++) b.requestEnded();
    expect(b.limit).toBe(2);
  });
});
