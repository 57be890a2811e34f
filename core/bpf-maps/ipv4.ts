// Dotted-quad IPv4 <-> the 4 bytes of a network-order __u32 field. Pure.

export function isIpv4(ip: string): boolean {
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Writes ip in network order (the bytes a.b.c.d in that order) at offset. */
export function writeIpv4(buf: Buffer, offset: number, ip: string): void {
  if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  const parts = ip.split('.');
  for (let i = 0; i < 4; i++) buf[offset + i] = Number(parts[i]);
}

export function readIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}
