// Outlier detection on fake time: ejection after consecutive failures, growing ejection times
// with decay, the ejection cap, panic mode and minHealthPercent, and return after the interval.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import { OutlierDetector, type OutlierOutcome } from './outlier-detector.js';

const EPS = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'];
const [A, B, C] = EPS as [string, string, string];

function detector(od: MeshTrafficPolicy['outlierDetection'], endpoints = EPS) {
  const clock = new FakeClock();
  const d = new OutlierDetector(od, clock);
  d.healthy(endpoints);
  const fail = (ep: string, n: number, outcome: OutlierOutcome = '5xx') => {
    for (let i = 0; i < n; i++) d.record(ep, outcome);
  };
  return { clock, d, fail };
}

describe('OutlierDetector', () => {
  it.each<{
    description: string;
    od: MeshTrafficPolicy['outlierDetection'];
    outcomes: OutlierOutcome[];
    ejected: boolean;
  }>([
    {
      description: '5 consecutive 5xx eject (default)',
      od: {},
      outcomes: Array<OutlierOutcome>(5).fill('5xx'),
      ejected: true,
    },
    { description: '4 do not', od: {}, outcomes: Array<OutlierOutcome>(4).fill('5xx'), ejected: false },
    {
      description: 'a success in between resets the count',
      od: {},
      outcomes: ['5xx', '5xx', '5xx', 'success', '5xx', '5xx'],
      ejected: false,
    },
    {
      description: 'gateway errors count as 5xx too',
      od: {},
      outcomes: ['gateway-error', '5xx', 'gateway-error', '5xx', 'gateway-error'],
      ejected: true,
    },
    {
      description: 'consecutiveGatewayErrors 2: two gateway errors eject',
      od: { consecutiveGatewayErrors: 2, consecutive5xxErrors: 0 },
      outcomes: ['gateway-error', 'gateway-error'],
      ejected: true,
    },
    {
      description: 'a plain 5xx breaks a gateway-error run',
      od: { consecutiveGatewayErrors: 2, consecutive5xxErrors: 0 },
      outcomes: ['gateway-error', '5xx', 'gateway-error'],
      ejected: false,
    },
    {
      description: 'consecutive5xxErrors 0 is off',
      od: { consecutive5xxErrors: 0 },
      outcomes: Array<OutlierOutcome>(50).fill('5xx'),
      ejected: false,
    },
    {
      description: 'maxEjectionPercent 0: nothing ejected',
      od: { maxEjectionPercent: 0 },
      outcomes: Array<OutlierOutcome>(5).fill('5xx'),
      ejected: false,
    },
    {
      description: 'no outlierDetection: off',
      od: undefined,
      outcomes: Array<OutlierOutcome>(50).fill('5xx'),
      ejected: false,
    },
  ])('$description', ({ od, outcomes, ejected }) => {
    const { d } = detector(od);
    for (const o of outcomes) d.record(A, o);
    expect(d.isEjected(A)).toBe(ejected);
    expect(d.healthy(EPS)).toEqual(ejected ? [B, C] : EPS);
  });

  it('returns the endpoint after baseEjectionTime, then ejects for twice as long, then three times', async () => {
    const { clock, d, fail } = detector({ baseEjectionTimeMs: 30_000, intervalMs: 10_000 });
    fail(A, 5);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 30_000, times: 1 }]);
    await clock.advance(29_999);
    expect(d.isEjected(A)).toBe(true);
    await clock.advance(1);
    expect(d.isEjected(A)).toBe(false);
    expect(d.ejections()).toEqual([]);
    fail(A, 5);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 90_000, times: 2 }]);
    await clock.advance(60_000);
    fail(A, 5);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 180_000, times: 3 }]);
  });

  it('the count decays by one per interval spent in rotation', async () => {
    const { clock, d, fail } = detector({ baseEjectionTimeMs: 1000, intervalMs: 10_000 });
    fail(A, 5);
    await clock.advance(1000);
    fail(A, 5); // times 2
    await clock.advance(2000);
    await clock.advance(25_000); // two whole intervals in rotation: 2 - 2 = 0
    fail(A, 5);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 29_000, times: 1 }]);
  });

  it('ejection time is capped at 300 s (Envoy max_ejection_time)', async () => {
    const { clock, d, fail } = detector({ baseEjectionTimeMs: 200_000, intervalMs: 0 });
    fail(A, 5);
    await clock.advance(200_000);
    fail(A, 5);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 500_000, times: 2 }]);
  });

  it('failures while ejected change nothing', () => {
    const { d, fail } = detector({});
    fail(A, 5);
    fail(A, 20);
    expect(d.ejections()).toEqual([{ endpoint: A, until: 30_000, times: 1 }]);
  });

  it('default 10%: one endpoint of three may be ejected, not two', () => {
    const { d, fail } = detector({});
    fail(A, 5);
    fail(B, 5);
    expect(d.healthy(EPS)).toEqual([B, C]);
    expect(d.ejections().map((e) => e.endpoint)).toEqual([A]);
  });

  it('50% of four: two may be ejected', () => {
    const four = [...EPS, '10.0.0.4:80'];
    const { d, fail } = detector({ maxEjectionPercent: 50 }, four);
    fail(A, 5);
    fail(B, 5);
    fail(C, 5);
    expect(d.healthy(four)).toEqual([C, '10.0.0.4:80']);
  });

  it('panic: when every endpoint is ejected, all are returned', () => {
    const { d, fail } = detector({ maxEjectionPercent: 100 }, [A]);
    fail(A, 5);
    expect(d.isEjected(A)).toBe(true);
    expect(d.healthy([A])).toEqual([A]);
  });

  it('minHealthPercent: below it, detection is off and all are returned', () => {
    const { d, fail } = detector({ maxEjectionPercent: 100, minHealthPercent: 50 });
    fail(A, 5);
    expect(d.healthy(EPS)).toEqual([B, C]); // 67% healthy
    fail(B, 5);
    expect(d.healthy(EPS)).toEqual(EPS); // 33% < 50%
  });
});
