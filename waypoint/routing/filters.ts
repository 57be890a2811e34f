// What Gateway API's request-changing filters do to one request, as pure functions: header
// modifiers (request and response), URLRewrite (path and authority) and RequestRedirect (status and
// Location). The proxy decides when to apply them and carries the results out; nothing here touches
// a socket, and mirrors and backends are not filters of this file.
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import type { RouteFilter } from '../../core/model/resources/gateway-api-common.js';
import type { L7Request } from './l7-request.js';
import { hasPathPrefix, replacePathPrefix, trimPrefix } from './route-match-path.js';

export interface HeaderModifier {
  set?: readonly { name: string; value: string }[] | undefined;
  add?: readonly { name: string; value: string }[] | undefined;
  remove?: readonly string[] | undefined;
}

export type UrlRewrite = NonNullable<RouteFilter['urlRewrite']>;
export type RequestRedirect = NonNullable<RouteFilter['requestRedirect']>;
type PathModifier = NonNullable<UrlRewrite['path']>;

/** Header values as Node gives them to a proxy; numbers (outgoing headers) are taken as text. */
type HeaderInput = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/**
 * Returns a new headers object (lower-case names); `add` appends (comma-joined per Gateway API).
 * Applied as Envoy does: every `remove` first, then `set` (replaces), then `add` (appends to what is
 * there, a repeated header first joined with ','). The input is not changed.
 */
export function modifyHeaders(
  h: HeaderInput,
  m: HeaderModifier,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const key = name.toLowerCase();
    const value = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : [...v];
    const prev = out[key];
    out[key] = prev === undefined ? value : [...[prev].flat(), ...[value].flat()];
  }
  for (const name of m.remove ?? []) delete out[name.toLowerCase()];
  for (const { name, value } of m.set ?? []) out[name.toLowerCase()] = value;
  for (const { name, value } of m.add ?? []) {
    const key = name.toLowerCase();
    const prev = out[key];
    out[key] = prev === undefined ? value : `${typeof prev === 'string' ? prev : prev.join(',')},${value}`;
  }
  return out;
}

/**
 * The path a path modifier makes of `path`. ReplacePrefixMatch replaces the PathPrefix that matched
 * (absent match or path: Gateway API's default PathPrefix "/"); an Exact match counts as a prefix
 * equal to the whole path; with a RegularExpression match (which Gateway API rejects alongside
 * ReplacePrefixMatch) the path is kept.
 */
function modifiedPath(path: string, match: HttpRouteMatch | undefined, pm: PathModifier | undefined): string {
  if (!pm) return path;
  switch (pm.type) {
    case 'ReplaceFullPath':
      return pm.replaceFullPath ?? path;
    case 'ReplacePrefixMatch': {
      const type = match?.path?.type ?? 'PathPrefix';
      if (type === 'RegularExpression') return path;
      const prefix = type === 'Exact' ? path : trimPrefix(match?.path?.value ?? '/');
      if (!hasPathPrefix(path, prefix)) return path;
      return replacePathPrefix(path, prefix, pm.replacePrefixMatch ?? '');
    }
  }
}

/**
 * URLRewrite: the new path (without query: the request's query is kept, the caller appends it) and
 * authority (`hostname` replaces the whole Host / :authority, as Envoy's host rewrite does).
 */
export function rewriteUrl(
  req: L7Request,
  match: HttpRouteMatch | undefined,
  rw: UrlRewrite,
): { path: string; authority: string } {
  return { path: modifiedPath(req.path, match, rw.path), authority: rw.hostname ?? req.authority };
}

/** The host of an authority without its port ("[::1]:80" -> "[::1]", "echo:80" -> "echo"). */
export function authorityHost(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  // more than one colon and no brackets: a bare IPv6 address, no port
  if (colon < 0 || authority.indexOf(':') !== colon) return authority;
  return authority.slice(0, colon);
}

const DEFAULT_PORT: Record<'http' | 'https', number> = { http: 80, https: 443 };

/**
 * RequestRedirect: status and Location (absolute URL, Gateway API defaults: scheme/host/port from
 * the request, status 302, port omitted when default for scheme). The request's scheme is http
 * (the waypoint sees plaintext HTTP inside HBONE). Port, when not given: the scheme's well-known port
 * if the redirect sets a scheme, else `requestPort` (the Service port: a mesh route's "listener").
 * The path is modified as for URLRewrite; the query is kept.
 */
export function redirectOf(
  req: L7Request,
  match: HttpRouteMatch | undefined,
  rd: RequestRedirect,
  requestPort: number,
): { status: number; location: string } {
  const scheme = rd.scheme ?? 'http';
  let host = rd.hostname ?? authorityHost(req.authority);
  // an IPv6 address is bracketed in a URL
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const port = rd.port ?? (rd.scheme !== undefined ? DEFAULT_PORT[rd.scheme] : requestPort);
  const portPart = port === DEFAULT_PORT[scheme] ? '' : `:${port}`;
  const path = modifiedPath(req.path, match, rd.path);
  const query = req.query === '' ? '' : `?${req.query}`;
  return { status: rd.statusCode ?? 302, location: `${scheme}://${host}${portPart}${path}${query}` };
}
