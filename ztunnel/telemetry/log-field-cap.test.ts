import { describe, expect, it } from 'vitest';
import { capField, capOptional, LOG_FIELD_MAX } from './log-field-cap.js';

describe('capField', () => {
  const cases: { name: string; input: string; max?: number; want: string }[] = [
    { name: 'short strings pass unchanged', input: '10.0.0.1:80', want: '10.0.0.1:80' },
    { name: 'exactly the cap passes', input: 'a'.repeat(LOG_FIELD_MAX), want: 'a'.repeat(LOG_FIELD_MAX) },
    {
      name: 'one over is cut with a marker',
      input: 'a'.repeat(LOG_FIELD_MAX + 1),
      want: `${'a'.repeat(LOG_FIELD_MAX)}…[+1 chars]`,
    },
    { name: 'a custom cap', input: 'abcdef', max: 3, want: 'abc…[+3 chars]' },
  ];
  for (const c of cases) it(c.name, () => expect(capField(c.input, c.max)).toBe(c.want));

  it('a 3,000-char authority costs at most the cap plus the marker', () => {
    expect(capField('x'.repeat(3_000)).length).toBeLessThanOrEqual(LOG_FIELD_MAX + 20);
  });

  it('leaves an absent field absent', () => {
    expect(capOptional(undefined)).toBeUndefined();
    expect(capOptional('y'.repeat(300))).toHaveLength(LOG_FIELD_MAX + '…[+44 chars]'.length);
  });
});
