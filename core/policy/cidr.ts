// IPv4/IPv6 address and CIDR matching for AuthorizationPolicy ipBlocks, with Node's BlockList.
// A bare address is a /32 (/128). Unparseable blocks never match (the controller validates them).
import { BlockList, isIP } from 'node:net';

export function ipInBlock(ip: string, block: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  const [addr, bitsRaw] = block.split('/') as [string, string | undefined];
  const bfam = isIP(addr);
  if (bfam === 0 || bfam !== family) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const bits = bitsRaw === undefined ? (family === 4 ? 32 : 128) : Number(bitsRaw);
  if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) return false;
  const list = new BlockList();
  list.addSubnet(addr, bits, type);
  return list.check(ip, type);
}
