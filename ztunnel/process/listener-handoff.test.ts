// enableRequestMigration on a stand-in /proc/sys: sets the sysctl once, leaves a 1 alone, and
// reports (never throws) when the kernel lacks it or the process may not write it.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { enableRequestMigration } from './listener-handoff.js';

const logger = pino({ level: 'silent' });

function fakeFs(initial: string | undefined, writable = true) {
  const writes: string[] = [];
  return {
    writes,
    read: (f: string): string => {
      if (initial === undefined) throw new Error(`ENOENT: ${f}`);
      return initial;
    },
    write: (_f: string, v: string): void => {
      if (!writable) throw new Error('EACCES');
      writes.push(v);
    },
  };
}

describe('enableRequestMigration', () => {
  it.each([
    { name: 'writes 1 when it is 0', initial: '0\n', writable: true, kind: 'set', writes: ['1'] },
    { name: 'leaves a 1 alone', initial: '1\n', writable: true, kind: 'already', writes: [] },
    {
      name: 'kernel without the sysctl',
      initial: undefined,
      writable: true,
      kind: 'unavailable',
      writes: [],
    },
    { name: 'no CAP_NET_ADMIN', initial: '0', writable: false, kind: 'unavailable', writes: [] },
  ])('$name', ({ initial, writable, kind, writes }) => {
    const fs = fakeFs(initial, writable);
    expect(enableRequestMigration(logger, '/proc/sys/net/ipv4/tcp_migrate_req', fs).kind).toBe(kind);
    expect(fs.writes).toEqual(writes);
  });
});
