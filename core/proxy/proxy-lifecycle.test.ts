import { describe, expect, it } from 'vitest';
import { ProxyLifecycle, type Lease, type ProxyEnd } from './proxy-lifecycle.js';

type Flag = '-' | 'DENY' | 'CONNECT';
interface End extends ProxyEnd<Flag> {
  result: string;
}

/** A lifecycle whose sink and log record every call, on a fake clock. */
function recorded() {
  const calls: string[] = [];
  let clock = 1_000;
  const lc = new ProxyLifecycle<Flag, string, End>({
    labels: (flags) => `flags=${flags}`,
    flowingFlags: '-',
    metrics: {
      opened: (l) => calls.push(`opened ${l}`),
      closed: (l, e) => calls.push(`closed ${l} ${e.result}`),
      inFlight: (d) => calls.push(`inFlight ${d}`),
    },
    log: (e, ms) => calls.push(`log ${e.result} ${e.flags} ${ms}ms`),
    now: () => clock,
  });
  const lease = (name: string): Lease => ({ release: () => calls.push(`release ${name}`) });
  return { lc, calls, lease, tick: (ms: number) => (clock += ms) };
}

describe('ProxyLifecycle', () => {
  it('counts a flowing unit opened once and closed once, and releases its leases once', () => {
    const { lc, calls, lease, tick } = recorded();
    lc.hold(lease('lb'));
    lc.open();
    lc.open();
    tick(250);
    expect(lc.close({ flags: '-', result: 'ok' })).toBe(true);
    expect(lc.close({ flags: 'CONNECT', result: 'again' })).toBe(false);
    expect(lc.discard()).toBe(false);
    expect(lc.state).toBe('closed');
    expect(calls).toEqual([
      'opened flags=-',
      'inFlight 1',
      'release lb',
      'inFlight -1',
      'closed flags=- ok',
      'log ok - 250ms',
    ]);
  });

  it('counts a refusal opened and closed with its flags, without touching the in-flight gauge', () => {
    const { lc, calls, lease } = recorded();
    lc.hold(lease('a'));
    lc.hold(lease('b'));
    expect(lc.close({ flags: 'DENY', result: 'refused' })).toBe(true);
    expect(lc.close({ flags: 'DENY', result: 'refused' })).toBe(false);
    lc.open();
    expect(calls).toEqual([
      'release a',
      'release b',
      'opened flags=DENY',
      'closed flags=DENY refused',
      'log refused DENY 0ms',
    ]);
  });

  it('discards a unit that never carried traffic: leases back, nothing counted or logged', () => {
    const { lc, calls, lease } = recorded();
    lc.hold(lease('lb'));
    expect(lc.discard()).toBe(true);
    expect(lc.discard()).toBe(false);
    expect(lc.close({ flags: '-', result: 'late' })).toBe(false);
    expect(calls).toEqual(['release lb']);
  });

  it('will not discard an open unit (it must be closed and reported)', () => {
    const { lc, calls } = recorded();
    lc.open();
    expect(lc.discard()).toBe(false);
    expect(lc.state).toBe('open');
    lc.close({ flags: '-', result: 'ok' });
    expect(calls).toEqual([
      'opened flags=-',
      'inFlight 1',
      'inFlight -1',
      'closed flags=- ok',
      'log ok - 0ms',
    ]);
  });

  it('builds the labels once for a unit that opens and ends with the flowing flags, again for other flags', () => {
    const built: Flag[] = [];
    const closedWith: string[] = [];
    const make = () =>
      new ProxyLifecycle<Flag, string, End>({
        labels: (f) => {
          built.push(f);
          return `flags=${f}`;
        },
        flowingFlags: '-',
        metrics: {
          opened: () => undefined,
          closed: (l) => closedWith.push(l),
          inFlight: () => undefined,
        },
        log: () => undefined,
      });
    const normal = make();
    normal.open();
    normal.close({ flags: '-', result: 'ok' });
    expect(built).toEqual(['-']);
    const timedOut = make();
    timedOut.open();
    timedOut.close({ flags: 'CONNECT', result: 'idle' });
    expect(built).toEqual(['-', '-', 'CONNECT']);
    expect(closedWith).toEqual(['flags=-', 'flags=CONNECT']);
  });

  it('gives back at once a lease taken after the end', () => {
    const { lc, calls, lease } = recorded();
    lc.close({ flags: 'CONNECT', result: 'refused' });
    calls.length = 0;
    lc.hold(lease('late'));
    expect(calls).toEqual(['release late']);
  });

  it('measures the duration from startedAt when given', () => {
    const logged: number[] = [];
    const lc = new ProxyLifecycle<Flag, string, End>({
      labels: (f) => f,
      flowingFlags: '-',
      metrics: { opened: () => undefined, closed: () => undefined, inFlight: () => undefined },
      log: (_e, ms) => logged.push(ms),
      startedAt: 400,
      now: () => 1_000,
    });
    lc.close({ flags: '-', result: 'ok' });
    expect(logged).toEqual([600]);
  });
});
