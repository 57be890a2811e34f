// Load balancing: each algorithm's picks over fixed random draws, least request's bookkeeping,
// the ring hash's spread and its stability when an endpoint leaves, and the hash key of a request.
import { describe, expect, it } from 'vitest';
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import { createLoadBalancer, hashKeyOf, type LbEndpoint } from './load-balancer.js';

const eps = (n: number): LbEndpoint[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i + 1}:8080` }));
const policy = (p: Partial<MeshTrafficPolicy>): MeshTrafficPolicy => ({
  namespace: 'shop',
  name: 'p',
  services: ['shop/cart'],
  ...p,
});

function draws(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('more random draws than expected');
    return v;
  };
}

describe('createLoadBalancer', () => {
  const three = eps(3);
  const keys = (picks: (LbEndpoint | undefined)[]) => picks.map((e) => e?.key.split(':')[0]);

  it.each<{
    description: string;
    p: MeshTrafficPolicy | undefined;
    random: number[];
    want: (string | undefined)[];
  }>([
    {
      description: 'default is round robin',
      p: undefined,
      random: [0],
      want: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'],
    },
    {
      description: 'round robin starts at a random offset',
      p: policy({ loadBalancer: 'ROUND_ROBIN' }),
      random: [0.4], // floor(0.4 * (2^31 - 1)) % 3 = 2
      want: ['10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3'],
    },
    {
      description: 'PASSTHROUGH is round robin',
      p: policy({ loadBalancer: 'PASSTHROUGH' }),
      random: [0],
      want: ['10.0.0.1', '10.0.0.2'],
    },
    {
      description: 'RANDOM',
      p: policy({ loadBalancer: 'RANDOM' }),
      random: [0.9, 0, 0.5],
      want: ['10.0.0.3', '10.0.0.1', '10.0.0.2'],
    },
    // equal in-flight counts: the first of the two drawn
    {
      description: 'LEAST_REQUEST without load: the first drawn',
      p: policy({ loadBalancer: 'LEAST_REQUEST' }),
      random: [0.7, 0],
      want: ['10.0.0.3'],
    },
  ])('$description', ({ p, random, want }) => {
    const lb = createLoadBalancer(p, draws(...random));
    expect(keys(want.map(() => lb.pick(three, {})))).toEqual(want);
  });

  it.each([
    undefined,
    policy({ loadBalancer: 'RANDOM' }),
    policy({ loadBalancer: 'LEAST_REQUEST' }),
    policy({ consistentHash: { header: 'x' } }),
  ])('no endpoints: undefined (%#)', (p) => {
    expect(createLoadBalancer(p, () => 0).pick([], { hashKey: 'k' })).toBeUndefined();
  });

  it('LEAST_REQUEST picks the one of two with fewer requests in flight', () => {
    const lb = createLoadBalancer(policy({ loadBalancer: 'LEAST_REQUEST' }), draws(0, 0, 0, 0, 0, 0));
    const [a, b] = three as [LbEndpoint, LbEndpoint, LbEndpoint];
    lb.started(a.key);
    expect(lb.pick(three, {})).toEqual(b); // draws 0,0: endpoints 0 and 1
    lb.started(b.key);
    lb.started(b.key);
    expect(lb.pick(three, {})).toEqual(a); // a has 1, b has 2
    lb.finished(b.key);
    lb.finished(b.key);
    lb.finished(b.key); // never below zero
    expect(lb.pick(three, {})).toEqual(b);
  });

  it('LEAST_REQUEST with one endpoint draws nothing', () => {
    const one = eps(1);
    expect(createLoadBalancer(policy({ loadBalancer: 'LEAST_REQUEST' }), draws()).pick(one, {})).toEqual(
      one[0],
    );
  });

  describe('consistent hash (ring)', () => {
    const ten = eps(10);
    const requestKeys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const lb = () => createLoadBalancer(policy({ consistentHash: { header: 'x-user' } }), () => 0);
    const assign = (endpoints: LbEndpoint[]) => {
      const b = lb();
      return requestKeys.map((k) => b.pick(endpoints, { hashKey: k })?.key);
    };

    it('the same key goes to the same endpoint, whatever the order of the endpoints', () => {
      expect(assign([...ten].reverse())).toEqual(assign(ten));
    });

    it('spreads keys over every endpoint within a few points of 10%', () => {
      const counts = new Map<string, number>();
      for (const k of assign(ten)) if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
      expect(counts.size).toBe(10);
      for (const n of counts.values()) {
        expect(n).toBeGreaterThan(600);
        expect(n).toBeLessThan(1400);
      }
    });

    it('removing one of 10 endpoints moves only its keys (about a tenth)', () => {
      const before = assign(ten);
      const removed = ten[3]?.key;
      const after = assign(ten.filter((e) => e.key !== removed));
      let moved = 0;
      for (let i = 0; i < requestKeys.length; i++) {
        if (before[i] === after[i]) continue;
        moved++;
        expect(before[i]).toBe(removed); // no key moved between endpoints that stayed
      }
      expect(moved).toBe(before.filter((k) => k === removed).length);
      expect(moved).toBeGreaterThan(600);
      expect(moved).toBeLessThan(1400);
    });

    it('without a hash key: a random endpoint', () => {
      const b = createLoadBalancer(policy({ consistentHash: { cookie: 's' } }), draws(0.95));
      expect(b.pick(ten, {})).toEqual(ten[9]);
    });
  });
});

describe('hashKeyOf', () => {
  it.each<{
    description: string;
    p: MeshTrafficPolicy | undefined;
    headers: Record<string, string | string[] | undefined>;
    want: string | undefined;
  }>([
    { description: 'no policy', p: undefined, headers: { 'x-user': 'a' }, want: undefined },
    {
      description: 'no consistent hash',
      p: policy({ loadBalancer: 'RANDOM' }),
      headers: { 'x-user': 'a' },
      want: undefined,
    },
    {
      description: 'header',
      p: policy({ consistentHash: { header: 'x-user' } }),
      headers: { 'x-user': 'alice' },
      want: 'alice',
    },
    {
      description: 'header name case',
      p: policy({ consistentHash: { header: 'X-User' } }),
      headers: { 'x-user': 'alice' },
      want: 'alice',
    },
    {
      description: 'repeated header',
      p: policy({ consistentHash: { header: 'x-user' } }),
      headers: { 'x-user': ['a', 'b'] },
      want: 'a,b',
    },
    {
      description: 'header missing',
      p: policy({ consistentHash: { header: 'x-user' } }),
      headers: {},
      want: undefined,
    },
    {
      description: 'cookie',
      p: policy({ consistentHash: { cookie: 'sid' } }),
      headers: { cookie: 'a=1; sid=xyz; b=2' },
      want: 'xyz',
    },
    {
      description: 'cookie split over HTTP/2 headers',
      p: policy({ consistentHash: { cookie: 'sid' } }),
      headers: { cookie: ['a=1', 'sid=q=1'] },
      want: 'q=1',
    },
    {
      description: 'cookie name is exact',
      p: policy({ consistentHash: { cookie: 'sid' } }),
      headers: { cookie: 'xsid=1; sidx=2' },
      want: undefined,
    },
    {
      description: 'no cookie header',
      p: policy({ consistentHash: { cookie: 'sid' } }),
      headers: {},
      want: undefined,
    },
  ])('$description', ({ p, headers, want }) => {
    expect(hashKeyOf(p, headers)).toBe(want);
  });
});
