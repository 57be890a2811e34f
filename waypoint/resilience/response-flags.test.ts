// The response-flag list and how several flags of one request are printed (Envoy's comma list).
import { describe, expect, it } from 'vitest';
import { joinFlags, RESPONSE_FLAGS } from './response-flags.js';

describe('response flags', () => {
  it('lists each flag once', () => {
    expect(new Set(RESPONSE_FLAGS).size).toBe(RESPONSE_FLAGS.length);
  });

  it.each<{ flags: Parameters<typeof joinFlags>[0]; want: string }>([
    { flags: [], want: '-' },
    { flags: ['UO'], want: 'UO' },
    { flags: ['DI', 'UT'], want: 'DI,UT' },
    { flags: ['URX', 'URX', 'UF'], want: 'URX,UF' },
  ])('joinFlags($flags) = $want', ({ flags, want }) => {
    expect(joinFlags(flags)).toBe(want);
  });
});
