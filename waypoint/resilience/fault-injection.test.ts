// Fault decisions as a table over fixed random draws, and the fraction of hits over many requests
// with a seeded generator.
import { describe, expect, it } from 'vitest';
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import { decideFault, grpcStatusCode, type FaultDecision } from './fault-injection.js';

/** Returns the given draws in turn (then fails the test by throwing: no case needs more). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('more random draws than expected');
    return v;
  };
}

describe('decideFault', () => {
  it.each<{ description: string; fault: MeshTrafficPolicy['fault']; random: number[]; want: FaultDecision }>([
    { description: 'no fault: nothing, no draw', fault: undefined, random: [], want: {} },
    {
      description: 'delay without a percentage: always (Istio 100)',
      fault: { delay: { fixedDelayMs: 100 } },
      random: [0.999],
      want: { delayMs: 100 },
    },
    {
      description: 'delay at 10%: a draw under 0.1 hits',
      fault: { delay: { percent: 10, fixedDelayMs: 100 } },
      random: [0.05],
      want: { delayMs: 100 },
    },
    {
      description: 'delay at 10%: a draw of 0.1 misses',
      fault: { delay: { percent: 10, fixedDelayMs: 100 } },
      random: [0.1],
      want: {},
    },
    {
      description: 'percent 0 never fires',
      fault: { abort: { percent: 0, httpStatus: 503 } },
      random: [0],
      want: {},
    },
    {
      description: 'abort with an HTTP status',
      fault: { abort: { percent: 50, httpStatus: 503 } },
      random: [0.2],
      want: { abort: { httpStatus: 503 } },
    },
    {
      description: 'abort with a gRPC name',
      fault: { abort: { grpcStatus: 'UNAVAILABLE' } },
      random: [0.5],
      want: { abort: { grpcStatus: 14 } },
    },
    {
      description: 'abort with a gRPC number',
      fault: { abort: { grpcStatus: '8' } },
      random: [0.5],
      want: { abort: { grpcStatus: 8 } },
    },
    {
      description: 'both: drawn independently, delay first',
      fault: { delay: { percent: 50, fixedDelayMs: 20 }, abort: { percent: 50, httpStatus: 500 } },
      random: [0.7, 0.3],
      want: { abort: { httpStatus: 500 } },
    },
    {
      description: 'both hit',
      fault: { delay: { percent: 50, fixedDelayMs: 20 }, abort: { percent: 50, httpStatus: 500 } },
      random: [0.1, 0.1],
      want: { delayMs: 20, abort: { httpStatus: 500 } },
    },
  ])('$description', ({ fault, random, want }) => {
    expect(decideFault(fault, draws(...random))).toEqual(want);
  });

  it('10% aborts land near 10% over 10,000 requests (seeded)', () => {
    let seed = 42;
    const lcg = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let aborted = 0;
    for (let i = 0; i < 10_000; i++)
      if (decideFault({ abort: { percent: 10, httpStatus: 503 } }, lcg).abort) aborted++;
    expect(aborted).toBeGreaterThan(900);
    expect(aborted).toBeLessThan(1100);
  });
});

describe('grpcStatusCode', () => {
  it.each([
    ['OK', 0],
    ['UNAVAILABLE', 14],
    ['unavailable', 14],
    ['UNAUTHENTICATED', 16],
    ['16', 16],
    ['17', undefined],
    ['BROKEN', undefined],
  ])('%s -> %s', (s, want) => {
    expect(grpcStatusCode(s)).toBe(want);
  });
});
