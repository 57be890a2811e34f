// Dotted-quad IPv4 <-> the 4 bytes of a network-order __u32 field. Pure.
import { bpfError } from './errors.js';

export function isIpv4(ip: string): boolean {
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Writes ip in network order (the bytes a.b.c.d in that order) at offset. */
export function writeIpv4(buf: Buffer, offset: number, ip: string): void {
  // hand-rolled parse: this runs once per captured connection (ztunnel lookup)
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || part > 3)
        throw bpfError('BPF_BAD_ADDRESS', `not an IPv4 address: ${JSON.stringify(ip)}`);
      buf[offset + part++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else {
      throw bpfError('BPF_BAD_ADDRESS', `not an IPv4 address: ${JSON.stringify(ip)}`);
    }
  }
  if (part !== 4) throw bpfError('BPF_BAD_ADDRESS', `not an IPv4 address: ${JSON.stringify(ip)}`);
}

export function readIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}
