// The clock that time-driven policy reads: now() and a cancellable timer. Production code gets
// the system clock; tests inject a fake one and advance it, so nothing waits on real time.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { clear(): void };
}

/** The system clock; its timers are unref'd, so a pending one alone does not keep Node running. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
};

/**
 * The system clock whose timers keep the process alive: for a retry that is the only thing left
 * to do (a discovery client reconnecting while nothing else runs must not let Node exit).
 */
export const keepAliveSystemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { clear: () => clearTimeout(t) };
  },
};
