import { describe, expect, it } from 'vitest';
import { normalizeAddress } from './peer-address.js';

describe('normalizeAddress', () => {
  const cases: [string | undefined, string][] = [
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['10.0.0.5', '10.0.0.5'],
    ['::1', '::1'],
    ['fd00::5', 'fd00::5'],
    ['', ''],
    [undefined, ''],
  ];
  it.each(cases)('%s -> %s', (a, want) => {
    expect(normalizeAddress(a)).toBe(want);
  });
});
