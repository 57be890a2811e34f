// Gateway API path semantics for HTTPRoute: Exact, PathPrefix (element by element, a trailing '/'
// of the prefix ignored) and RegularExpression path matches, and the ReplacePrefixMatch rewrite
// that reuses the same prefix rule. Pure string functions; no route, no request object.
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import { fullMatchRegex } from './route-regex.js';

/** A path match with Gateway API's defaults filled in (absent: PathPrefix "/"). */
export type PathMatcher =
  | { type: 'Exact'; value: string }
  /** `value` is the prefix without its trailing '/'; '' for the root prefix "/". */
  | { type: 'PathPrefix'; value: string }
  | { type: 'RegularExpression'; value: string; regex: RegExp | undefined };

/** A prefix without its trailing '/' (Gateway API: "when specified, a trailing / is ignored"); "/" -> "". */
export function trimPrefix(prefix: string): string {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0x2f) end--;
  return prefix.slice(0, end);
}

/** Whether `path` starts with the (trimmed) prefix on a path-element boundary: /abc matches /abc, /abc/, /abc/d, not /abcd. */
export function hasPathPrefix(path: string, trimmedPrefix: string): boolean {
  if (trimmedPrefix === '') return true;
  if (!path.startsWith(trimmedPrefix)) return false;
  return path.length === trimmedPrefix.length || path.charCodeAt(trimmedPrefix.length) === 0x2f;
}

export function pathMatcher(path: HttpRouteMatch['path']): PathMatcher {
  const type = path?.type ?? 'PathPrefix';
  const value = path?.value ?? '/';
  switch (type) {
    case 'Exact':
      return { type, value };
    case 'PathPrefix':
      return { type, value: trimPrefix(value) };
    case 'RegularExpression':
      return { type, value, regex: fullMatchRegex(value) };
  }
}

export function matchesPath(m: PathMatcher, path: string): boolean {
  switch (m.type) {
    case 'Exact':
      return path === m.value;
    case 'PathPrefix':
      return hasPathPrefix(path, m.value);
    case 'RegularExpression':
      return m.regex?.test(path) ?? false;
  }
}

/**
 * ReplacePrefixMatch: the path with the matched prefix replaced, as Gateway API's table gives it
 * (/foo/bar, prefix /foo, replacement /xyz -> /xyz/bar; "" or "/" -> /bar; /foo/ -> /xyz/).
 * `trimmedPrefix` is the matched PathPrefix without its trailing '/'; the caller has checked that
 * it matches.
 */
export function replacePathPrefix(path: string, trimmedPrefix: string, replacement: string): string {
  const rest = path.slice(trimmedPrefix.length);
  const out = trimPrefix(replacement) + rest;
  if (out === '') return '/';
  return out.startsWith('/') ? out : `/${out}`;
}
