import { describe, expect, it } from 'vitest';
import { ConnectionGate, type Admission } from './connection-gate.js';
import { FdHeadroom } from './fd-headroom.js';

const limits = { maxConnections: 4, maxConnectionsPerSource: 2, maxHandshakes: 3 };
const ticket = (a: Admission) => {
  if (a.kind !== 'admit') throw new Error(`refused: ${a.limit}`);
  return a.ticket;
};

describe('ConnectionGate', () => {
  const cases: { name: string; admitted: [string, boolean][]; next: [string, boolean]; want: string }[] = [
    { name: 'admits under every cap', admitted: [], next: ['a', true], want: 'admit' },
    {
      name: 'per-source cap',
      admitted: [
        ['a', false],
        ['a', false],
      ],
      next: ['a', false],
      want: 'connections-per-source',
    },
    {
      name: 'another source is not held by the first',
      admitted: [
        ['a', false],
        ['a', false],
      ],
      next: ['b', false],
      want: 'admit',
    },
    {
      name: 'handshake cap',
      admitted: [
        ['a', true],
        ['b', true],
        ['c', true],
      ],
      next: ['d', true],
      want: 'handshakes',
    },
    {
      name: 'handshake cap leaves plain connections alone',
      admitted: [
        ['a', true],
        ['b', true],
        ['c', true],
      ],
      next: ['d', false],
      want: 'admit',
    },
    {
      name: 'overall cap',
      admitted: [
        ['a', false],
        ['b', false],
        ['c', false],
        ['d', false],
      ],
      next: ['e', false],
      want: 'connections',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const g = new ConnectionGate(limits);
      for (const [src, hs] of c.admitted) ticket(g.admit(src, hs));
      const a = g.admit(...c.next);
      expect(a.kind === 'admit' ? 'admit' : a.limit).toBe(c.want);
    });
  }

  it('hands capacity back on handshakeDone and release, once each', () => {
    const g = new ConnectionGate(limits);
    const t = [ticket(g.admit('a', true)), ticket(g.admit('b', true)), ticket(g.admit('c', true))];
    expect(g.admit('d', true)).toEqual({ kind: 'refuse', limit: 'handshakes' });
    t[0]?.handshakeDone();
    t[0]?.handshakeDone();
    expect(g.handshakes).toBe(2);
    ticket(g.admit('d', true));
    expect(g.connections).toBe(4);
    t[1]?.release();
    t[1]?.release();
    expect(g.connections).toBe(3);
    expect(g.handshakes).toBe(2);
  });

  it('refuses at the fd reserve before any other cap', () => {
    const fds = new FdHeadroom(10, { openFds: () => 86, softLimit: () => 100 }, () => 0);
    const g = new ConnectionGate(limits, fds);
    ticket(g.admit('a', false)); // 86 + 0 + 1 <= 100 - 10
    ticket(g.admit('b', false));
    ticket(g.admit('c', false));
    ticket(g.admit('d', false)); // 86 + 3 + 1 = 90
    // 86 + 4 + 1 > 90; also over maxConnections, but the fd reserve is checked first.
    expect(g.admit('e', false)).toEqual({ kind: 'refuse', limit: 'fd-reserve' });
  });
});
