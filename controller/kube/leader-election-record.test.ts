// The pure decisions over a Lease record (lease-record.ts), as a table: who may write it now and
// what it writes - client-go's tryAcquireOrRenew rules, expiry measured from when WE saw it change.
import { describe, expect, it } from 'vitest';
import { decideLease, microTime, recordKey, releasedSpec, type LeaseSpec } from './lease-record.js';

const NOW = 1_700_000_100_000;
const held = (holder: string, extra: Partial<LeaseSpec> = {}): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(NOW - 60_000),
  renewTime: microTime(NOW - 1_000),
  leaderTransitions: 2,
  ...extra,
});

const CASES: {
  description: string;
  current: LeaseSpec | undefined;
  seenAgoMs: number;
  want: 'write' | 'held';
  transitions?: number;
  takeover?: boolean;
}[] = [
  {
    description: 'no Lease yet: create, no transition',
    current: undefined,
    seenAgoMs: 0,
    want: 'write',
    transitions: 0,
    takeover: true,
  },
  {
    description: 'ours: renew, transitions kept',
    current: held('me'),
    seenAgoMs: 60_000,
    want: 'write',
    transitions: 2,
    takeover: false,
  },
  {
    description: 'another, seen changing 14.9 s ago: wait',
    current: held('other'),
    seenAgoMs: 14_900,
    want: 'held',
  },
  {
    description: 'another, unchanged for 15 s by our clock: take over',
    current: held('other'),
    seenAgoMs: 15_000,
    want: 'write',
    transitions: 3,
    takeover: true,
  },
  {
    description:
      'another whose renewTime is an hour old but just changed: wait (remote clocks are not trusted)',
    current: held('other', { renewTime: microTime(NOW - 3_600_000) }),
    seenAgoMs: 0,
    want: 'held',
  },
  {
    description: 'another with a 60 s lease, unchanged 20 s: its own duration counts',
    current: held('other', { leaseDurationSeconds: 60 }),
    seenAgoMs: 20_000,
    want: 'held',
  },
  {
    description: 'released (no holder): take at once',
    current: releasedSpec(held('other'), NOW - 100),
    seenAgoMs: 0,
    want: 'write',
    transitions: 3,
    takeover: true,
  },
];

describe('decideLease', () => {
  it.each(CASES)('$description', ({ current, seenAgoMs, want, transitions, takeover }) => {
    const d = decideLease(current, { key: recordKey(current), atMs: NOW - seenAgoMs }, 'me', NOW, 15);
    expect(d.kind).toBe(want);
    if (d.kind !== 'write') return;
    expect(d.takeover).toBe(takeover);
    expect(d.spec).toMatchObject({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      renewTime: microTime(NOW),
      leaderTransitions: transitions,
    });
    expect(d.spec.acquireTime).toBe(takeover ? microTime(NOW) : current?.acquireTime);
  });

  it('MicroTime has the six fractional digits the API server parses', () => {
    expect(microTime(Date.UTC(2024, 4, 1, 10, 0, 0, 123))).toBe('2024-05-01T10:00:00.123000Z');
  });

  it('a released record frees the Lease and keeps the transition count', () => {
    expect(releasedSpec(held('me'), NOW)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(NOW),
      renewTime: microTime(NOW),
      leaderTransitions: 2,
    });
  });
});
