// A fake Clock (clock.ts) for tests of time-driven policy: time moves only when advance() is
// called, and timers due by then fire in order of their due time. Test-only (the build excludes
// *.test-helper.ts), for any test of code that takes a Clock.
import type { Clock } from './clock.js';

export class FakeClock implements Clock {
  t = 0;
  private readonly timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): { clear(): void } {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { clear: () => void (timer.live = false) };
  }

  /**
   * Advances time by `ms`, firing due timers in order; after each one it lets the microtasks that
   * timer started run (a few promise hops), so async work it kicks off settles before the next.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      this.t = next.at;
      next.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    this.t = end;
  }
}
