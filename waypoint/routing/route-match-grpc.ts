// GRPCRoute's method match: a gRPC request's path is `/<service>/<method>`; an Exact match with the
// service or the method left out matches any, a RegularExpression match fully matches each given
// part. Also gives the characters of service and method that GRPCRoute precedence counts.
import type { GrpcRouteMatch } from '../../core/model/resources/grpc-route.js';
import { fullMatchRegex } from './route-regex.js';

export interface GrpcMethodMatcher {
  /** Characters in the service match ('' or absent: 0), for precedence. */
  serviceChars: number;
  /** Characters in the method match, for precedence. */
  methodChars: number;
  test(service: string, method: string): boolean;
}

/** The service and method of a gRPC path `/pkg.Service/Method`; undefined when it has another shape. */
export function grpcPathParts(path: string): { service: string; method: string } | undefined {
  if (!path.startsWith('/')) return undefined;
  const slash = path.indexOf('/', 1);
  if (slash <= 1 || slash === path.length - 1 || path.indexOf('/', slash + 1) >= 0) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

function partTest(type: 'Exact' | 'RegularExpression', want: string | undefined): (v: string) => boolean {
  if (want === undefined || want === '') return () => true;
  if (type === 'Exact') return (v) => v === want;
  const re = fullMatchRegex(want);
  return re ? (v) => re.test(v) : () => false;
}

/** The compiled method match; absent: every service and method. */
export function grpcMethodMatcher(m: GrpcRouteMatch['method']): GrpcMethodMatcher {
  if (!m) return { serviceChars: 0, methodChars: 0, test: () => true };
  const type = m.type ?? 'Exact';
  const service = partTest(type, m.service);
  const method = partTest(type, m.method);
  return {
    serviceChars: m.service?.length ?? 0,
    methodChars: m.method?.length ?? 0,
    test: (s, mm) => service(s) && method(mm),
  };
}
