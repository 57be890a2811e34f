import { describe, expect, it } from 'vitest';
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import { matchesPath, pathMatcher, replacePathPrefix, trimPrefix } from './route-match-path.js';

describe('matchesPath', () => {
  const cases: { name: string; path: HttpRouteMatch['path']; req: string; want: boolean }[] = [
    { name: 'default is PathPrefix / (matches all)', path: undefined, req: '/anything/at/all', want: true },
    { name: 'type without value is /', path: { type: 'PathPrefix' }, req: '/x', want: true },
    { name: 'prefix: equal', path: { type: 'PathPrefix', value: '/abc' }, req: '/abc', want: true },
    { name: 'prefix: trailing slash', path: { type: 'PathPrefix', value: '/abc' }, req: '/abc/', want: true },
    { name: 'prefix: sub element', path: { type: 'PathPrefix', value: '/abc' }, req: '/abc/def', want: true },
    {
      name: 'prefix: not mid-element',
      path: { type: 'PathPrefix', value: '/abc' },
      req: '/abcd',
      want: false,
    },
    {
      name: 'prefix /abc/ ignores its slash',
      path: { type: 'PathPrefix', value: '/abc/' },
      req: '/abc',
      want: true,
    },
    {
      name: 'prefix /abc/ on /abc/d',
      path: { type: 'PathPrefix', value: '/abc/' },
      req: '/abc/d',
      want: true,
    },
    {
      name: 'prefix /abc/ not /abcd',
      path: { type: 'PathPrefix', value: '/abc/' },
      req: '/abcd',
      want: false,
    },
    {
      name: 'prefix is case-sensitive',
      path: { type: 'PathPrefix', value: '/abc' },
      req: '/ABC',
      want: false,
    },
    {
      name: 'prefix elsewhere in path',
      path: { type: 'PathPrefix', value: '/v2' },
      req: '/foo/v2/x',
      want: false,
    },
    { name: 'exact: equal', path: { type: 'Exact', value: '/abc' }, req: '/abc', want: true },
    {
      name: 'exact: trailing slash differs',
      path: { type: 'Exact', value: '/abc' },
      req: '/abc/',
      want: false,
    },
    { name: 'exact: longer', path: { type: 'Exact', value: '/abc' }, req: '/abc/d', want: false },
    {
      name: 'regex: full match',
      path: { type: 'RegularExpression', value: '/v[0-9]+/.*' },
      req: '/v1/x',
      want: true,
    },
    {
      name: 'regex: not partial',
      path: { type: 'RegularExpression', value: '/v[0-9]+' },
      req: '/v1/x',
      want: false,
    },
    {
      name: 'regex: invalid matches nothing',
      path: { type: 'RegularExpression', value: '(' },
      req: '(',
      want: false,
    },
  ];
  it.each(cases)('$name', ({ path, req, want }) => {
    expect(matchesPath(pathMatcher(path), req)).toBe(want);
  });
});

describe('trimPrefix', () => {
  it.each([
    ['/', ''],
    ['/abc', '/abc'],
    ['/abc/', '/abc'],
    ['/abc//', '/abc'],
    ['', ''],
  ])('%s -> %s', (prefix, want) => {
    expect(trimPrefix(prefix)).toBe(want);
  });
});

describe('replacePathPrefix (Gateway API HTTPPathModifier table)', () => {
  it.each([
    { path: '/foo/bar', prefix: '/foo', replace: '/xyz', want: '/xyz/bar' },
    { path: '/foo/bar', prefix: '/foo', replace: '/xyz/', want: '/xyz/bar' },
    { path: '/foo/bar', prefix: '/foo/', replace: '/xyz', want: '/xyz/bar' },
    { path: '/foo/bar', prefix: '/foo/', replace: '/xyz/', want: '/xyz/bar' },
    { path: '/foo', prefix: '/foo', replace: '/xyz', want: '/xyz' },
    { path: '/foo/', prefix: '/foo', replace: '/xyz', want: '/xyz/' },
    { path: '/foo/bar', prefix: '/foo', replace: '', want: '/bar' },
    { path: '/foo/', prefix: '/foo', replace: '', want: '/' },
    { path: '/foo', prefix: '/foo', replace: '', want: '/' },
    { path: '/foo/', prefix: '/foo', replace: '/', want: '/' },
    { path: '/foo', prefix: '/foo', replace: '/', want: '/' },
    // the root prefix: the replacement is put in front of the whole path
    { path: '/a/b', prefix: '/', replace: '/xyz', want: '/xyz/a/b' },
    { path: '/a/b', prefix: '/', replace: '/', want: '/a/b' },
  ])('$path, prefix $prefix, replace "$replace" -> $want', ({ path, prefix, replace, want }) => {
    expect(replacePathPrefix(path, trimPrefix(prefix), replace)).toBe(want);
  });
});
