import { describe, expect, it } from 'vitest';
import { AmbitAggregateError, AmbitError, defineErrors, describeError } from './errors.js';

class DemoError extends AmbitError<'DM_ONE' | 'DM_TWO'> {}
const dmError = defineErrors(DemoError, { DM_ONE: 'do one thing', DM_TWO: undefined });

describe('defineErrors', () => {
  const cause = new Error('ECONNREFUSED');
  const cases: {
    name: string;
    code: 'DM_ONE' | 'DM_TWO';
    cause?: unknown;
    siteHint?: string;
    hint: string | undefined;
  }[] = [
    { name: 'hint from the table', code: 'DM_ONE', hint: 'do one thing' },
    { name: 'no hint in the table', code: 'DM_TWO', hint: undefined },
    { name: 'cause chained', code: 'DM_ONE', cause, hint: 'do one thing' },
    { name: 'site hint wins over the table', code: 'DM_ONE', siteHint: 'needs root', hint: 'needs root' },
  ];
  it.each(cases)('$name', (c) => {
    const err = dmError(c.code, `message of ${c.name}`, c.cause, c.siteHint);
    expect(err).toBeInstanceOf(DemoError);
    expect(err).toBeInstanceOf(AmbitError);
    expect(err.name).toBe('DemoError');
    expect(err.code).toBe(c.code);
    expect(err.message).toBe(`message of ${c.name}`);
    expect(err.hint).toBe(c.hint);
    expect(err.cause).toBe(c.cause);
    expect('cause' in err).toBe(c.cause !== undefined);
  });

  it('is() matches the class and, when given, the codes', () => {
    const one = dmError('DM_ONE', 'x');
    expect(dmError.is(one)).toBe(true);
    expect(dmError.is(one, 'DM_ONE')).toBe(true);
    expect(dmError.is(one, 'DM_TWO')).toBe(false);
    expect(dmError.is(new AmbitError('DM_ONE', 'x'))).toBe(false);
    expect(dmError.is(new Error('x'))).toBe(false);
  });

  it('aggregate() keeps each failure and names every one in the message', () => {
    const parts = [
      dmError('DM_ONE', 'attach a'),
      dmError('DM_TWO', 'attach b', new Error('EPERM')),
      new Error('plain'),
    ];
    const agg = dmError.aggregate('DM_TWO', 'reconcile incomplete', parts);
    expect(agg).toBeInstanceOf(AmbitAggregateError);
    expect(agg.code).toBe('DM_TWO');
    expect(agg.errors).toEqual(parts);
    expect(agg.errors[1]?.cause).toEqual(new Error('EPERM'));
    expect(agg.message).toBe('reconcile incomplete: DM_ONE: attach a; DM_TWO: attach b; plain');
  });

  it.each([
    [dmError('DM_ONE', 'm'), 'DM_ONE: m'],
    [new Error('m'), 'm'],
    ['text', 'text'],
  ])('describeError(%s) = %s', (err, want) => expect(describeError(err)).toBe(want));
});
