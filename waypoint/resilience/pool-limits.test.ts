// Pool limits: each limit admits up to its value, overflows beyond, takes leases back exactly
// once; unset limits are unlimited.
import { describe, expect, it } from 'vitest';
import type { Lease } from '../../core/proxy/proxy-lifecycle.js';
import { PoolLimits } from './pool-limits.js';

type Kind = 'tryAcquireRequest' | 'tryAcquireConnection' | 'tryAcquirePending';

function leases(l: PoolLimits, kind: Kind, n: number): Lease[] {
  const out: Lease[] = [];
  for (let i = 0; i < n; i++) {
    const got = l[kind]();
    if (got === 'overflow') throw new Error(`overflow at ${i}`);
    out.push(got);
  }
  return out;
}

describe('PoolLimits', () => {
  it.each<{ kind: Kind; pool: ConstructorParameters<typeof PoolLimits>[0]; max: number }>([
    { kind: 'tryAcquireRequest', pool: { http: { http2MaxRequests: 3 } }, max: 3 },
    { kind: 'tryAcquireConnection', pool: { tcp: { maxConnections: 2 } }, max: 2 },
    { kind: 'tryAcquirePending', pool: { http: { http1MaxPendingRequests: 1 } }, max: 1 },
  ])('$kind admits $max, then overflows until one is released', ({ kind, pool, max }) => {
    const l = new PoolLimits(pool);
    const held = leases(l, kind, max);
    expect(l[kind]()).toBe('overflow');
    held[0]?.release();
    expect(l[kind]()).not.toBe('overflow');
  });

  it('a lease released twice gives back one slot', () => {
    const l = new PoolLimits({ http: { http2MaxRequests: 2 } });
    const [a] = leases(l, 'tryAcquireRequest', 2);
    a?.release();
    a?.release();
    expect(l.inUse.requests).toBe(1);
    leases(l, 'tryAcquireRequest', 1);
    expect(l.tryAcquireRequest()).toBe('overflow');
  });

  it('unset limits are unlimited and limits are independent', () => {
    const l = new PoolLimits({ tcp: { maxConnections: 1 } });
    leases(l, 'tryAcquireRequest', 10_000);
    leases(l, 'tryAcquirePending', 10_000);
    leases(l, 'tryAcquireConnection', 1);
    expect(l.tryAcquireConnection()).toBe('overflow');
    expect(l.inUse).toEqual({ connections: 1, pending: 10_000, requests: 10_000 });
    expect(new PoolLimits(undefined).limits).toEqual({
      maxConnections: Infinity,
      maxPendingRequests: Infinity,
      maxRequests: Infinity,
      maxRequestsPerConnection: 0,
    });
  });

  it.each([
    [undefined, 1_000_000, true],
    [0, 1_000_000, true],
    [1, 0, true],
    [1, 1, false],
    [100, 99, true],
    [100, 100, false],
  ])('maxRequestsPerConnection %s: after %s requests reuse is %s', (max, served, want) => {
    const l = new PoolLimits(max === undefined ? {} : { http: { maxRequestsPerConnection: max } });
    expect(l.mayReuse(served)).toBe(want);
  });
});
