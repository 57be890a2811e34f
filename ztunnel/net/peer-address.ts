// A socket's address as the mesh knows it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.5`, what a
// dual-stack listener reports for an IPv4 peer) as plain IPv4, an unknown one as ''. The one
// helper for every listener (capture, SOCKS5, 15008, the limits, admin). Pure.

export function normalizeAddress(a: string | undefined): string {
  const s = a ?? '';
  return s.startsWith('::ffff:') ? s.slice(7) : s;
}
