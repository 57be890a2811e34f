// The soak's tally: injected failures apart from the others, carried requests and bytes per lane,
// and error kinds named by code.
import { describe, expect, it } from 'vitest';
import { ErrorTally, errorKind, total } from './error-tally.js';

describe('ErrorTally', () => {
  it('keeps injected failures apart and sums what each lane carried', () => {
    const t = new ErrorTally();
    t.error('ECONNRESET');
    t.error('ECONNRESET');
    t.error('http-502');
    t.injectedError('http-503');
    t.ok('http', 1100);
    t.ok('http', 1100);
    t.ok('l4-short', 2048);
    const s = t.snapshot();
    expect(s.errors).toStrictEqual({ ECONNRESET: 2, 'http-502': 1 });
    expect(s.injected).toStrictEqual({ 'http-503': 1 });
    expect(s.carried).toStrictEqual({
      http: { requests: 2, bytes: 2200 },
      'l4-short': { requests: 1, bytes: 2048 },
    });
    expect(total(s.errors)).toBe(3);
  });
});

describe('errorKind', () => {
  it.each([
    {
      description: 'a socket error by code',
      err: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
      kind: 'ECONNRESET',
    },
    { description: 'a named error class', err: new TypeError('x'), kind: 'TypeError' },
    { description: 'a plain Error', err: new Error('x'), kind: 'error' },
    { description: 'not an error', err: 'boom', kind: 'error' },
  ])('$description', ({ err, kind }) => {
    expect(errorKind(err)).toBe(kind);
  });
});
