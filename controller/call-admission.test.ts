import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { RefusalLog } from './call-admission.js';

describe('RefusalLog', () => {
  it('logs a kind once per window with the count suppressed in between (fake clock)', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    let now = 0;
    const log = new RefusalLog(logger, 5_000, () => now);
    for (let i = 0; i < 100; i++) log.refused('unauthenticated', { peer: 'p' }, 'refused');
    log.refused('max-message-bytes', { limitBytes: 65536 }, 'too big');
    now = 5_000;
    log.refused('unauthenticated', { peer: 'p' }, 'refused');
    expect(lines.map((l) => [l.msg, l.refusals, l.suppressedSinceLast])).toEqual([
      ['refused', 1, 0],
      ['too big', 1, 0],
      ['refused', 101, 99],
    ]);
    expect(log.counts.get('unauthenticated')).toBe(101);
  });
});
