import { describe, expect, it } from 'vitest';
import { headerValue, queryParams, requestProtocol, splitPathAndQuery } from './l7-request.js';

describe('headerValue', () => {
  const headers = { 'x-one': 'a', 'x-many': ['a', 'b', 'c'], 'x-empty': [], 'x-blank': '' };
  it.each([
    { name: 'x-one', want: 'a' },
    { name: 'X-One', want: 'a' },
    { name: 'x-many', want: 'a,b,c' },
    { name: 'x-empty', want: undefined },
    { name: 'x-blank', want: '' },
    { name: 'x-missing', want: undefined },
  ])('$name -> $want', ({ name, want }) => {
    expect(headerValue(headers, name)).toBe(want);
  });
});

describe('queryParams', () => {
  it.each([
    { query: '', want: [] },
    { query: 'animal=whale', want: [['animal', 'whale']] },
    {
      query: 'animal=whale&otherparam=irrelevant',
      want: [
        ['animal', 'whale'],
        ['otherparam', 'irrelevant'],
      ],
    },
    { query: 'animal=whale&animal=dolphin', want: [['animal', 'whale']] },
    {
      query: 'flag&x=',
      want: [
        ['flag', ''],
        ['x', ''],
      ],
    },
    {
      query: 'a=1&&b=2&',
      want: [
        ['a', '1'],
        ['b', '2'],
      ],
    },
    {
      query: 'q=a%20b&r=c+d&s=%2F',
      want: [
        ['q', 'a b'],
        ['r', 'c d'],
        ['s', '/'],
      ],
    },
    { query: 'bad=%zz', want: [['bad', '%zz']] },
    { query: 'e=x=y', want: [['e', 'x=y']] },
    { query: '=nameless&ok=1', want: [['ok', '1']] },
    { query: 'Animal=Whale', want: [['Animal', 'Whale']] },
  ])('$query', ({ query, want }) => {
    expect([...queryParams(query)]).toEqual(want);
  });
});

describe('requestProtocol', () => {
  it.each([
    { major: 1, ct: undefined, want: 'http1' },
    { major: 2, ct: 'text/plain', want: 'http2' },
    { major: 2, ct: 'application/grpc', want: 'grpc' },
    { major: 2, ct: 'application/grpc+proto', want: 'grpc' },
    { major: 2, ct: 'Application/GRPC-web', want: 'grpc' },
    { major: 1, ct: 'application/json', want: 'http1' },
  ] as const)('$major $ct -> $want', ({ major, ct, want }) => {
    expect(requestProtocol(major, ct)).toBe(want);
  });
});

describe('splitPathAndQuery', () => {
  it.each([
    { target: '/a/b', want: { path: '/a/b', query: '' } },
    { target: '/a?x=1', want: { path: '/a', query: 'x=1' } },
    { target: '/?', want: { path: '/', query: '' } },
    { target: '/a?x=1?y', want: { path: '/a', query: 'x=1?y' } },
  ])('$target', ({ target, want }) => {
    expect(splitPathAndQuery(target)).toEqual(want);
  });
});
