import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { RequestCounter, RequestHistogram } from './request-metric.js';

type L = 'code' | 'path';
const sets: Record<L, string>[] = [
  { code: '200', path: '/a' },
  { code: '503', path: '/b"q\\x\n' }, // a value that needs escaping
];
const observations: [number, number][] = [
  [0, 0.2],
  [0, 3],
  [1, 12],
  [0, 1e9], // past the last bucket: only +Inf, sum and count
  [0, 5],
  [1, 0.5],
];
const buckets = [0.5, 1, 5, 10, 25];
const le = (l: object): unknown => (l as { le?: unknown }).le;

/** The same observations through prom-client's own metrics and through ours. */
async function expositions(): Promise<{ theirs: string; ours: string }> {
  const a = new Registry();
  const b = new Registry();
  const c1 = new Counter<L>({ name: 'x_total', help: 'h', labelNames: ['code', 'path'], registers: [a] });
  const h1 = new Histogram<L>({
    name: 'x_ms',
    help: 'h',
    labelNames: ['code', 'path'],
    buckets,
    registers: [a],
  });
  const c2 = new RequestCounter<L>({
    name: 'x_total',
    help: 'h',
    labelNames: ['code', 'path'],
    registers: [b],
  });
  const h2 = new RequestHistogram<L>({
    name: 'x_ms',
    help: 'h',
    labelNames: ['code', 'path'],
    buckets,
    registers: [b],
  });
  for (const [i, v] of observations) {
    const l = sets[i] ?? {};
    c1.inc(l);
    h1.observe(l, v);
    c2.childOf(String(i), l).inc();
    h2.childOf(String(i), l).observe(v);
  }
  return { theirs: await a.metrics(), ours: await b.metrics() };
}

describe('RequestCounter and RequestHistogram', () => {
  it("export exactly prom-client's text for the same observations", async () => {
    const { theirs, ours } = await expositions();
    expect(ours).toBe(theirs);
    expect(ours).toContain('x_ms_bucket{le="5",code="200",path="/a"} 3');
  });

  it('keep one child per key, and get() gives plain label sets', async () => {
    const c = new RequestCounter<L>({
      name: 'y_total',
      help: 'h',
      labelNames: ['code', 'path'],
      registers: [],
    });
    c.childOf('k', { code: '200', path: '/' }).inc();
    c.childOf('k', { code: '200', path: '/' }).inc(2);
    expect((await c.get()).values).toEqual([{ labels: { code: '200', path: '/' }, value: 3 }]);
    const h = new RequestHistogram<L>({
      name: 'y_ms',
      help: 'h',
      labelNames: ['code'],
      buckets,
      registers: [],
    });
    h.childOf('k', { code: '200' }).observe(2);
    const v = (await h.get()).values;
    expect(v.find((x) => x.metricName === 'y_ms_count')).toMatchObject({ labels: { code: '200' }, value: 1 });
    expect(v.find((x) => x.metricName === 'y_ms_bucket' && le(x.labels) === 1)?.value).toBe(0);
    expect(v.find((x) => x.metricName === 'y_ms_bucket' && le(x.labels) === 5)?.value).toBe(1);
  });
});
