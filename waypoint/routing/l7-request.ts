// The facts of one HTTP request that routing decides on (method, path, query, headers, authority,
// protocol), in the one shape every routing module reads. Pure: it parses nothing off a socket and
// knows no route; the proxy fills an L7Request once per request from Node's request object.

export interface L7Request {
  /** upper-case */
  method: string;
  /** path without query, as received (e.g. "/a/b") */
  path: string;
  /** raw query without '?', '' when none */
  query: string;
  /** lower-case header names; pseudo headers excluded */
  headers: Record<string, string | string[] | undefined>;
  /** Host / :authority as received */
  authority: string;
  /** 'grpc' when content-type starts with application/grpc */
  protocol: 'http1' | 'http2' | 'grpc';
}

/**
 * The value of header `name` (any case), a repeated header's values joined with ',' (RFC 7230
 * §3.2.2, as Gateway API asks); undefined when absent.
 */
export function headerValue(h: L7Request['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  return v.length === 0 ? undefined : v.join(',');
}

/** Percent-decoding of one query component ('+' is a space, form encoding); malformed escapes kept raw. */
function decodeQueryComponent(s: string): string {
  const spaced = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * The query's parameters, names and values percent-decoded. When a name repeats, the first value
 * wins (Gateway API recommends matching the first value). A parameter without '=' has value ''.
 */
export function queryParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    if (name === '' || params.has(name)) continue;
    params.set(name, eq < 0 ? '' : decodeQueryComponent(part.slice(eq + 1)));
  }
  return params;
}

/** The request protocol from the HTTP version and content-type (gRPC is any application/grpc*). */
export function requestProtocol(
  httpVersionMajor: number,
  contentType: string | undefined,
): L7Request['protocol'] {
  if (contentType !== undefined && contentType.toLowerCase().startsWith('application/grpc')) return 'grpc';
  return httpVersionMajor >= 2 ? 'http2' : 'http1';
}

/** Splits a request target ("/a/b?x=1") into path and raw query. */
export function splitPathAndQuery(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  if (q < 0) return { path: target, query: '' };
  return { path: target.slice(0, q), query: target.slice(q + 1) };
}
