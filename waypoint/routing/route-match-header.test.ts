import { describe, expect, it } from 'vitest';
import {
  headerMatchers,
  matchesHeaders,
  matchesQuery,
  queryMatchers,
  type NameValueMatch,
} from './route-match-header.js';
import { queryParams } from './l7-request.js';

describe('matchesHeaders', () => {
  const cases: {
    name: string;
    matches: NameValueMatch[];
    headers: Record<string, string | string[] | undefined>;
    want: boolean;
  }[] = [
    { name: 'no matches: everything', matches: [], headers: {}, want: true },
    { name: 'exact', matches: [{ name: 'version', value: 'one' }], headers: { version: 'one' }, want: true },
    {
      name: 'name is case-insensitive',
      matches: [{ name: 'Version', value: 'one' }],
      headers: { version: 'one' },
      want: true,
    },
    {
      name: 'value is case-sensitive',
      matches: [{ name: 'version', value: 'one' }],
      headers: { version: 'One' },
      want: false,
    },
    { name: 'absent header', matches: [{ name: 'version', value: 'one' }], headers: {}, want: false },
    {
      name: 'empty value matches empty',
      matches: [{ name: 'x', value: '' }],
      headers: { x: '' },
      want: true,
    },
    {
      name: 'all are ANDed',
      matches: [
        { name: 'a', value: '1' },
        { name: 'b', value: '2' },
      ],
      headers: { a: '1', b: '3' },
      want: false,
    },
    {
      name: 'repeated header joined with ,',
      matches: [{ name: 'x', value: 'a,b' }],
      headers: { x: ['a', 'b'] },
      want: true,
    },
    {
      name: 'only the first entry of a name counts',
      matches: [
        { name: 'Version', value: 'one' },
        { name: 'version', value: 'two' },
      ],
      headers: { version: 'one' },
      want: true,
    },
    {
      name: 'regex full match',
      matches: [{ type: 'RegularExpression', name: 'x', value: 'v[0-9]+' }],
      headers: { x: 'v12' },
      want: true,
    },
    {
      name: 'regex is anchored',
      matches: [{ type: 'RegularExpression', name: 'x', value: 'v[0-9]+' }],
      headers: { x: 'av12' },
      want: false,
    },
  ];
  it.each(cases)('$name', ({ matches, headers, want }) => {
    expect(matchesHeaders(headerMatchers(matches), headers)).toBe(want);
  });

  it('counts distinct names only', () => {
    expect(
      headerMatchers([
        { name: 'A', value: '1' },
        { name: 'a', value: '2' },
        { name: 'b', value: '3' },
      ]).map((m) => m.name),
    ).toEqual(['a', 'b']);
  });
});

describe('matchesQuery', () => {
  it.each([
    { name: 'exact', matches: [{ name: 'animal', value: 'whale' }], query: 'animal=whale', want: true },
    {
      name: 'other params ignored',
      matches: [{ name: 'animal', value: 'whale' }],
      query: 'x=1&animal=whale',
      want: true,
    },
    {
      name: 'first value wins',
      matches: [{ name: 'animal', value: 'whale' }],
      query: 'animal=dog&animal=whale',
      want: false,
    },
    {
      name: 'not a substring match',
      matches: [{ name: 'animal', value: 'whale' }],
      query: 'animal=whaledolphin',
      want: false,
    },
    {
      name: 'name is case-sensitive',
      matches: [{ name: 'animal', value: 'whale' }],
      query: 'Animal=whale',
      want: false,
    },
    { name: 'absent', matches: [{ name: 'animal', value: 'whale' }], query: '', want: false },
    { name: 'decoded value', matches: [{ name: 'q', value: 'a b' }], query: 'q=a%20b', want: true },
    {
      name: 'regex',
      matches: [{ type: 'RegularExpression' as const, name: 'animal', value: 'wh.*' }],
      query: 'animal=whale',
      want: true,
    },
  ])('$name', ({ matches, query, want }) => {
    expect(matchesQuery(queryMatchers(matches), queryParams(query))).toBe(want);
  });
});
