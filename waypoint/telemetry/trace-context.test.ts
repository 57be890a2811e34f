import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  incomingContext,
  parseB3Single,
  parseTraceparent,
  upstreamHeaders,
} from './trace-context.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const TP = `00-${T}-${S}-01`;

describe('parseTraceparent', () => {
  it.each([
    ['valid sampled', TP, { traceId: T, spanId: S, sampled: true, b3: false }],
    ['valid unsampled', `00-${T}-${S}-00`, { traceId: T, spanId: S, sampled: false, b3: false }],
    ['too long (56)', `${TP}0`, undefined],
    ['future version with extra fields', `01-${T}-${S}-01-extra`, undefined],
    ['version ff', `ff-${T}-${S}-01`, undefined],
    ['upper case hex', `00-${T.toUpperCase()}-${S}-01`, undefined],
    ['zero trace id', `00-${'0'.repeat(32)}-${S}-01`, undefined],
    ['zero span id', `00-${T}-${'0'.repeat(16)}-01`, undefined],
    ['absent', undefined, undefined],
  ])('%s', (_name, v, want) => {
    expect(parseTraceparent(v)).toEqual(want);
  });

  it('formats exactly 55 chars', () => {
    const f = formatTraceparent({ traceId: T, spanId: S, sampled: true });
    expect(f).toBe(TP);
    expect(f).toHaveLength(55);
  });
});

describe('parseB3Single', () => {
  it.each([
    ['trace-span', `${T}-${S}`, { parent: { traceId: T, spanId: S, sampled: false, b3: true } }],
    [
      'trace-span-1',
      `${T}-${S}-1`,
      { parent: { traceId: T, spanId: S, sampled: true, b3: true }, sampled: true },
    ],
    [
      'debug',
      `${T}-${S}-d-${S}`,
      { parent: { traceId: T, spanId: S, sampled: true, b3: true }, sampled: true },
    ],
    [
      '64-bit trace id padded',
      `a3ce929d0e0e4736-${S}-0`,
      {
        parent: { traceId: '0000000000000000a3ce929d0e0e4736', spanId: S, sampled: false, b3: true },
        sampled: false,
      },
    ],
    ['deny only', '0', { sampled: false }],
    ['bad sampling state', `${T}-${S}-x`, undefined],
    ['bad span', `${T}-zz`, undefined],
  ])('%s', (_name, v, want) => {
    expect(parseB3Single(v)).toEqual(want);
  });
});

describe('incomingContext', () => {
  it('W3C first, with tracestate', () => {
    expect(incomingContext({ traceparent: TP, tracestate: 'k=v' })).toEqual({
      parent: { traceId: T, spanId: S, sampled: true, b3: false },
      sampled: true,
      tracestate: 'k=v',
    });
  });

  it('an invalid traceparent starts a new trace (no parent)', () => {
    expect(incomingContext({ traceparent: `${TP}x` })).toEqual({});
  });

  it('B3 multi when no traceparent', () => {
    expect(incomingContext({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' })).toEqual({
      parent: { traceId: T, spanId: S, sampled: true, b3: true },
      sampled: true,
      b3: 'multi',
    });
  });

  it('B3 debug flag samples', () => {
    expect(incomingContext({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1' }).sampled).toBe(true);
  });

  it('B3 without a sampling state defers the decision', () => {
    const c = incomingContext({ b3: `${T}-${S}` });
    expect(c.parent?.traceId).toBe(T);
    expect(c.sampled).toBeUndefined();
    expect(c.b3).toBe('single');
  });

  it('traceparent wins, but B3 is still propagated', () => {
    const c = incomingContext({ traceparent: TP, b3: `${'1'.repeat(32)}-${'2'.repeat(16)}-0` });
    expect(c.parent?.traceId).toBe(T);
    expect(c.sampled).toBe(true);
    expect(c.b3).toBe('single');
  });

  it('nothing in, nothing out', () => {
    expect(incomingContext({})).toEqual({});
  });
});

describe('upstreamHeaders', () => {
  const span = { traceId: T, spanId: '1111111111111111', sampled: true };
  it('traceparent only without B3', () => {
    expect(upstreamHeaders(span, { parentSpanId: S })).toEqual({
      traceparent: `00-${T}-1111111111111111-01`,
    });
  });
  it('single B3 form with parent', () => {
    expect(upstreamHeaders(span, { b3: 'single', parentSpanId: S, tracestate: 'k=v' })).toEqual({
      traceparent: `00-${T}-1111111111111111-01`,
      tracestate: 'k=v',
      b3: `${T}-1111111111111111-1-${S}`,
    });
  });
  it('multi B3 form', () => {
    expect(upstreamHeaders({ ...span, sampled: false }, { b3: 'multi', parentSpanId: S })).toEqual({
      traceparent: `00-${T}-1111111111111111-00`,
      'x-b3-traceid': T,
      'x-b3-spanid': '1111111111111111',
      'x-b3-sampled': '0',
      'x-b3-parentspanid': S,
    });
  });
});
