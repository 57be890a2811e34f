import { describe, expect, it } from 'vitest';
import { readIpv4, writeIpv4, isIpv4 } from './ipv4.js';

describe('ipv4 codec', () => {
  it.each(['0.0.0.0', '10.20.1.11', '169.254.7.1', '255.255.255.255'])(
    'round-trips %s in network order',
    (ip) => {
      const b = Buffer.alloc(6);
      writeIpv4(b, 1, ip);
      expect(readIpv4(b, 1)).toBe(ip);
      expect([...b.subarray(1, 5)].join('.')).toBe(ip);
      expect(isIpv4(ip)).toBe(true);
    },
  );
  it.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', '::1', '1.2.3.4 '])(
    'rejects %j',
    (ip) => {
      expect(() => writeIpv4(Buffer.alloc(4), 0, ip)).toThrow(/not an IPv4/);
      expect(isIpv4(ip)).toBe(false);
    },
  );
});
