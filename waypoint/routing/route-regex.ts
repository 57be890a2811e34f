// Compiles the RegularExpression values of route matches (path, header, query, gRPC method) into
// anchored full-match JavaScript RegExps, once per pattern across config snapshots. Gateway API leaves
// the dialect to the implementation; ours is RE2-like: RE2's leading inline flags `(?i)`/`(?s)` and
// named groups `(?P<name>...)` are translated, the rest is JavaScript syntax. It decides no route.

/** Bound on cached patterns; a config churning through more starts the cache afresh. */
const CACHE_LIMIT = 10_000;

const cache = new Map<string, RegExp | null>();

/** RE2 syntax JavaScript lacks, rewritten: leading `(?flags)` and `(?P<name>`. */
function translate(pattern: string): { source: string; flags: string } {
  let source = pattern;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead?.[1] !== undefined) {
    // `m` is meaningless for a whole-value match and U (ungreedy) has no JavaScript form: dropped
    if (lead[1].includes('i')) flags += 'i';
    if (lead[1].includes('s')) flags += 's';
    source = source.slice(lead[0].length);
  }
  source = source.replace(/\(\?P</g, '(?<');
  return { source, flags };
}

/**
 * A RegExp that matches a whole value against `pattern` (as RE2's FullMatch), or undefined when the
 * pattern does not compile: such a match then matches nothing (fail closed), which route status
 * cannot report as it is decided by the controller.
 */
export function fullMatchRegex(pattern: string): RegExp | undefined {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit ?? undefined;
  let compiled: RegExp | null;
  try {
    const { source, flags } = translate(pattern);
    compiled = new RegExp(`^(?:${source})$`, flags);
  } catch {
    compiled = null;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, compiled);
  return compiled ?? undefined;
}

/** Whether `value` is wholly matched by `pattern` (false for a pattern that does not compile). */
export function regexFullMatch(pattern: string, value: string): boolean {
  return fullMatchRegex(pattern)?.test(value) ?? false;
}
