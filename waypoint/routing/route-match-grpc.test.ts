import { describe, expect, it } from 'vitest';
import type { GrpcRouteMatch } from '../../core/model/resources/grpc-route.js';
import { grpcMethodMatcher, grpcPathParts } from './route-match-grpc.js';

describe('grpcPathParts', () => {
  it.each([
    { path: '/pkg.Svc/Method', want: { service: 'pkg.Svc', method: 'Method' } },
    { path: '/Svc/M', want: { service: 'Svc', method: 'M' } },
    { path: '/Svc', want: undefined },
    { path: '/Svc/', want: undefined },
    { path: '//M', want: undefined },
    { path: '/a/b/c', want: undefined },
    { path: 'Svc/M', want: undefined },
    { path: '/', want: undefined },
  ])('$path', ({ path, want }) => {
    expect(grpcPathParts(path)).toEqual(want);
  });
});

describe('grpcMethodMatcher', () => {
  const cases: { name: string; m: GrpcRouteMatch['method']; svc: string; method: string; want: boolean }[] = [
    { name: 'absent: all', m: undefined, svc: 'a.B', method: 'C', want: true },
    { name: 'exact both', m: { service: 'a.B', method: 'C' }, svc: 'a.B', method: 'C', want: true },
    {
      name: 'exact both, other method',
      m: { service: 'a.B', method: 'C' },
      svc: 'a.B',
      method: 'D',
      want: false,
    },
    { name: 'exact service only: any method', m: { service: 'a.B' }, svc: 'a.B', method: 'Z', want: true },
    { name: 'exact method only: any service', m: { method: 'C' }, svc: 'x.Y', method: 'C', want: true },
    { name: 'exact is case-sensitive', m: { service: 'a.b' }, svc: 'a.B', method: 'C', want: false },
    {
      name: 'regex service',
      m: { type: 'RegularExpression', service: 'a\\..*' },
      svc: 'a.B',
      method: 'C',
      want: true,
    },
    {
      name: 'regex is anchored',
      m: { type: 'RegularExpression', method: 'Get' },
      svc: 'a.B',
      method: 'GetAll',
      want: false,
    },
  ];
  it.each(cases)('$name', ({ m, svc, method, want }) => {
    expect(grpcMethodMatcher(m).test(svc, method)).toBe(want);
  });

  it('counts the characters precedence compares', () => {
    const m = grpcMethodMatcher({ service: 'pkg.Svc', method: 'Get' });
    expect([m.serviceChars, m.methodChars]).toEqual([7, 3]);
    const all = grpcMethodMatcher(undefined);
    expect([all.serviceChars, all.methodChars]).toEqual([0, 0]);
  });
});
