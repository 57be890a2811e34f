// Gateway API name/value matches, shared by header matches (HTTPRoute, GRPCRoute) and query-param
// matches (HTTPRoute): Exact or RegularExpression on the value; when names repeat only the first entry
// counts. Header names compare case-insensitively, query names exactly. Knows no route or rule.
import { headerValue, type L7Request } from './l7-request.js';
import { fullMatchRegex } from './route-regex.js';

/** One header or query-param match as the resource gives it. */
export interface NameValueMatch {
  type?: 'Exact' | 'RegularExpression' | undefined;
  name: string;
  value: string;
}

/** A compiled name/value match: the name in the form looked up, and the value test. */
export interface ValueMatcher {
  name: string;
  test(value: string): boolean;
}

function valueTest(m: NameValueMatch): (value: string) => boolean {
  if ((m.type ?? 'Exact') === 'Exact') {
    const want = m.value;
    return (v) => v === want;
  }
  const re = fullMatchRegex(m.value);
  return re ? (v) => re.test(v) : () => false;
}

/** Header matches compiled: names lower-cased; a later entry naming the same header is ignored. */
export function headerMatchers(matches: readonly NameValueMatch[] | undefined): ValueMatcher[] {
  return compile(matches, (n) => n.toLowerCase());
}

/** Query-param matches compiled: names exact; a later entry with the same name is ignored. */
export function queryMatchers(matches: readonly NameValueMatch[] | undefined): ValueMatcher[] {
  return compile(matches, (n) => n);
}

function compile(
  matches: readonly NameValueMatch[] | undefined,
  key: (name: string) => string,
): ValueMatcher[] {
  const seen = new Set<string>();
  const out: ValueMatcher[] = [];
  for (const m of matches ?? []) {
    const name = key(m.name);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, test: valueTest(m) });
  }
  return out;
}

/** Every header matcher finds its header (repeated values joined with ',') with a matching value. */
export function matchesHeaders(matchers: readonly ValueMatcher[], headers: L7Request['headers']): boolean {
  for (const m of matchers) {
    // m.name is lower-case already, as the request's header names are
    const raw = headers[m.name];
    const v = raw === undefined || typeof raw === 'string' ? raw : headerValue(headers, m.name);
    if (v === undefined || !m.test(v)) return false;
  }
  return true;
}

/** Every query matcher finds its parameter (first value) with a matching value. */
export function matchesQuery(
  matchers: readonly ValueMatcher[],
  params: ReadonlyMap<string, string>,
): boolean {
  for (const m of matchers) {
    const v = params.get(m.name);
    if (v === undefined || !m.test(v)) return false;
  }
  return true;
}
