import { describe, expect, it } from 'vitest';
import { FdHeadroom, procFdSource } from './fd-headroom.js';

describe('FdHeadroom', () => {
  it('counts tracked connections exactly between samples of the other fds', () => {
    let now = 0;
    let open = 50;
    const h = new FdHeadroom(20, { openFds: () => open, softLimit: () => 100 }, () => now, 1_000);
    for (let i = 0; i < 30; i++) {
      expect(h.exhausted()).toBe(false);
      h.acquire();
      open++;
    }
    expect(h.exhausted()).toBe(true); // 50 + 30 + 1 > 100 - 20
    h.release();
    open--;
    expect(h.exhausted()).toBe(false);
    // Other fds grew (dials): seen at the next sample.
    open += 10;
    expect(h.exhausted()).toBe(false);
    now = 1_000;
    expect(h.exhausted()).toBe(true);
  });

  it('re-reads the limit (prlimit on a running process)', () => {
    let now = 0;
    let limit = 1_000_000;
    const h = new FdHeadroom(256, { openFds: () => 10, softLimit: () => limit }, () => now);
    expect(h.limit).toBe(1_000_000);
    limit = 1_500;
    now = 5_000;
    expect(h.limit).toBe(1_500);
  });

  it('reads this process from /proc', () => {
    expect(procFdSource.openFds()).toBeGreaterThan(2);
    expect(procFdSource.softLimit()).toBeGreaterThan(2);
  });
});
