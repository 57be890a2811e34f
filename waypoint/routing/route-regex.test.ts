import { describe, expect, it } from 'vitest';
import { fullMatchRegex, regexFullMatch } from './route-regex.js';

describe('regexFullMatch', () => {
  it.each([
    { name: 'whole value', pattern: '/v[0-9]+', value: '/v12', want: true },
    { name: 'no partial match at end', pattern: '/v[0-9]+', value: '/v12/x', want: false },
    { name: 'no partial match at start', pattern: 'v[0-9]+', value: '/v1', want: false },
    { name: 'alternation full match on the longer branch', pattern: 'a|ab', value: 'ab', want: true },
    { name: 'alternation is grouped by the anchors', pattern: 'x|y', value: 'xy', want: false },
    { name: 'RE2 (?i) flag', pattern: '(?i)hello', value: 'HeLLo', want: true },
    { name: 'case-sensitive by default', pattern: 'hello', value: 'HeLLo', want: false },
    { name: 'RE2 (?s) flag: dot matches newline', pattern: '(?s)a.b', value: 'a\nb', want: true },
    { name: 'RE2 named group', pattern: '(?P<v>[a-z]+)-1', value: 'abc-1', want: true },
    { name: 'empty pattern matches only empty', pattern: '', value: '', want: true },
    { name: 'invalid pattern matches nothing', pattern: '([a-z', value: '([a-z', want: false },
  ])('$name', ({ pattern, value, want }) => {
    expect(regexFullMatch(pattern, value)).toBe(want);
  });

  it('compiles a pattern once and reuses it', () => {
    const a = fullMatchRegex('/cache-[0-9]+');
    expect(a).toBeInstanceOf(RegExp);
    expect(fullMatchRegex('/cache-[0-9]+')).toBe(a);
    expect(fullMatchRegex('(unclosed')).toBeUndefined();
    expect(fullMatchRegex('(unclosed')).toBeUndefined();
  });
});
