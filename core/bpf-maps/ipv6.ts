// IPv6 text <-> the 16 bytes of a network-order `__u32 ip[4]` field (as struct bpf_sock_addr's
// user_ip6 holds it). Text out is Node's canonical form (lower case, longest zero run as ::), so
// it compares equal to what net.Socket reports. Pure.
import { isIPv6, SocketAddress } from 'node:net';
import { bpfError } from './errors.js';

export function isIpv6(ip: string): boolean {
  return isIPv6(ip);
}

/** Writes ip's 16 bytes in network order at offset. */
export function writeIpv6(buf: Buffer, offset: number, ip: string): void {
  if (!isIPv6(ip)) throw bpfError('BPF_BAD_ADDRESS', `not an IPv6 address: ${JSON.stringify(ip)}`);
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let text = ip;
  if (v4Tail?.[1]) {
    const o = v4Tail[1].split('.').map(Number);
    text = `${ip.slice(0, -v4Tail[1].length)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), offset + i * 2));
}

export function readIpv6(buf: Buffer, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2).toString(16));
  // SocketAddress parses and prints the canonical form
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** The form readIpv6 gives back, so a desired IPv6 key compares equal to the kernel's copy. */
export function canonicalIpv6(ip: string): string {
  const b = Buffer.alloc(16);
  writeIpv6(b, 0, ip);
  return readIpv6(b, 0);
}
