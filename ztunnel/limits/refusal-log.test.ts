import { describe, expect, it } from 'vitest';
import { RefusalLog } from './refusal-log.js';

describe('RefusalLog', () => {
  it('logs the first refusal per peer per interval and reports how many it held back', () => {
    let now = 0;
    const r = new RefusalLog(60_000, () => now);
    expect(r.refused('10.0.0.1')).toEqual({ log: true, suppressed: 0 });
    expect(r.refused('10.0.0.1')).toEqual({ log: false, suppressed: 1 });
    expect(r.refused('10.0.0.1')).toEqual({ log: false, suppressed: 2 });
    expect(r.refused('10.0.0.2')).toEqual({ log: true, suppressed: 0 });
    now = 60_000;
    expect(r.refused('10.0.0.1')).toEqual({ log: true, suppressed: 2 });
  });

  it('stays bounded: past maxPeers the table starts over', () => {
    const r = new RefusalLog(60_000, () => 0, 2);
    r.refused('a');
    r.refused('b');
    expect(r.refused('c').log).toBe(true);
    expect(r.refused('a').log).toBe(true); // forgotten when the table started over
  });
});
