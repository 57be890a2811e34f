// The IPv6 codec: text -> the 16 network-order bytes struct bpf_sock_addr's user_ip6 holds, and
// back to Node's canonical text (so a desired key equals the kernel's copy read back).
import { describe, expect, it } from 'vitest';
import { canonicalIpv6, readIpv6, writeIpv6 } from './ipv6.js';
import { dst6KeyCodec } from './map-codecs.js';

describe('ipv6 codec', () => {
  it('writes network order and reads back the canonical form', () => {
    const b = Buffer.alloc(16);
    writeIpv6(b, 0, 'fd00:20:1::11');
    expect(b.toString('hex')).toBe('fd000020000100000000000000000011');
    expect(readIpv6(b, 0)).toBe('fd00:20:1::11');
    expect(canonicalIpv6('FD00:0020:0001:0:0:0:0:0011')).toBe('fd00:20:1::11');
    expect(canonicalIpv6('::ffff:10.1.2.3')).toBe('::ffff:10.1.2.3');
    expect(canonicalIpv6('::1')).toBe('::1');
  });

  it('refuses what is not IPv6', () => {
    expect(() => writeIpv6(Buffer.alloc(16), 0, '10.0.0.1')).toThrow(/not an IPv6 address/);
  });

  it('dst6 key: ip, port in network order, zero pad', () => {
    const b = Buffer.alloc(20, 0xff);
    dst6KeyCodec.encode({ ip: 'fd00::1', port: 8080 }, b);
    expect(b.subarray(16).toString('hex')).toBe('1f900000');
    expect(dst6KeyCodec.decode(b)).toEqual({ ip: 'fd00::1', port: 8080 });
  });
});
