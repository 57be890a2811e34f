// The routes attached to one Service port, compiled once per config snapshot into a precedence-
// sorted list of matches, and the pure choice of the rule a request takes (Gateway API HTTPRoute and
// GRPCRoute as GAMMA producer routes, DESIGN §6). It carries nothing out: filters, backends and the
// 404 are the proxy's, from the returned decision.
//
// Precedence, HTTPRoute (Gateway API, continuing on ties): Exact path, then PathPrefix with the most
// characters, then a method match, most header matches, most query matches; RegularExpression paths
// rank below every prefix (Istio's order; Gateway API leaves it to the implementation), longer
// patterns first. GRPCRoute: most characters of service, then of method, then most header matches
// (hostnames are ignored for Service parents). Then, for both: the oldest route, the route first by
// "namespace/name", the first rule in list order (and within it, the first match).
import type { MeshGrpcRouteRule, MeshHttpRouteRule, MeshRoute } from '../../core/model/mesh.js';
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import { queryParams, type L7Request } from './l7-request.js';
import {
  headerMatchers,
  matchesHeaders,
  matchesQuery,
  queryMatchers,
  type ValueMatcher,
} from './route-match-header.js';
import { grpcMethodMatcher, grpcPathParts, type GrpcMethodMatcher } from './route-match-grpc.js';
import { matchesPath, pathMatcher, type PathMatcher } from './route-match-path.js';

export type RouteDecision =
  | {
      kind: 'rule';
      route: MeshRoute;
      rule: MeshHttpRouteRule | MeshGrpcRouteRule;
      ruleIndex: number;
      /** the HTTPRoute match that matched (for ReplacePrefixMatch); undefined for GRPCRoute */
      match?: HttpRouteMatch;
    }
  /** nothing attached: use the Service itself */
  | { kind: 'no-routes' }
  /** routes attached, none matched: 404 (gRPC: UNIMPLEMENTED) */
  | { kind: 'no-match' };

/** Where a match entry came from, and its place in the route order. */
interface EntrySource {
  route: MeshRoute;
  /** position of the route in the oldest-first, then namespace/name order */
  routeOrder: number;
  ruleIndex: number;
  matchIndex: number;
}

interface HttpEntry extends EntrySource {
  rule: MeshHttpRouteRule;
  match: HttpRouteMatch;
  path: PathMatcher;
  method: string | undefined;
  headers: ValueMatcher[];
  query: ValueMatcher[];
}

interface GrpcEntry extends EntrySource {
  rule: MeshGrpcRouteRule;
  method: GrpcMethodMatcher;
  headers: ValueMatcher[];
}

/** The compiled routes of one Service port. Build it with buildRouteTable; read it with selectRoute. */
export class RouteTable {
  /** @param routes the attached routes, oldest first (then by namespace/name) */
  constructor(
    readonly routes: readonly MeshRoute[],
    /** @internal */ readonly http: readonly HttpEntry[],
    /** @internal */ readonly grpc: readonly GrpcEntry[],
  ) {}
}

/** The Service a table is built for; `ports` (as MeshService has them) resolves a parent's sectionName. */
export interface RouteTableService {
  namespace: string;
  name: string;
  ports?: readonly { port: number; name?: string | undefined }[];
}

function attaches(route: MeshRoute, service: RouteTableService, port: number): boolean {
  return route.parents.some(
    (p) =>
      p.kind === 'Service' &&
      p.namespace === service.namespace &&
      p.name === service.name &&
      (p.port === undefined || p.port === port) &&
      (p.sectionName === undefined ||
        service.ports?.some((sp) => sp.port === port && sp.name === p.sectionName) === true),
  );
}

/** Milliseconds of a creationTimestamp; a route without one (or an unparsable one) counts as newest. */
function createdMs(route: MeshRoute): number {
  const t = route.creationTimestamp === undefined ? NaN : Date.parse(route.creationTimestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

function compareRoutes(a: MeshRoute, b: MeshRoute): number {
  const ta = createdMs(a);
  const tb = createdMs(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Route order, then rule order, then match order: the last tie breaks. */
function compareSource(a: EntrySource, b: EntrySource): number {
  return a.routeOrder - b.routeOrder || a.ruleIndex - b.ruleIndex || a.matchIndex - b.matchIndex;
}

const PATH_RANK: Record<PathMatcher['type'], number> = { Exact: 3, PathPrefix: 2, RegularExpression: 1 };

function compareHttp(a: HttpEntry, b: HttpEntry): number {
  return (
    PATH_RANK[b.path.type] - PATH_RANK[a.path.type] ||
    b.path.value.length - a.path.value.length ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    compareSource(a, b)
  );
}

function compareGrpc(a: GrpcEntry, b: GrpcEntry): number {
  return (
    b.method.serviceChars - a.method.serviceChars ||
    b.method.methodChars - a.method.methodChars ||
    b.headers.length - a.headers.length ||
    compareSource(a, b)
  );
}

/** Routes attached to service `ns/name` on `port` (parents of kind Service), precedence-sorted. */
export function buildRouteTable(routes: MeshRoute[], service: RouteTableService, port: number): RouteTable {
  const attached = routes.filter((r) => attaches(r, service, port)).sort(compareRoutes);
  const http: HttpEntry[] = [];
  const grpc: GrpcEntry[] = [];
  attached.forEach((route, routeOrder) => {
    if (route.kind === 'HTTPRoute') {
      route.rules.forEach((rule, ruleIndex) =>
        rule.matches.forEach((match, matchIndex) =>
          http.push({
            route,
            routeOrder,
            ruleIndex,
            matchIndex,
            rule,
            match,
            path: pathMatcher(match.path),
            method: match.method,
            headers: headerMatchers(match.headers),
            query: queryMatchers(match.queryParams),
          }),
        ),
      );
    } else {
      route.rules.forEach((rule, ruleIndex) => {
        // no matches: the rule matches every gRPC request (Gateway API)
        const matches = rule.matches.length > 0 ? rule.matches : [{}];
        matches.forEach((match, matchIndex) =>
          grpc.push({
            route,
            routeOrder,
            ruleIndex,
            matchIndex,
            rule,
            method: grpcMethodMatcher(match.method),
            headers: headerMatchers(match.headers),
          }),
        );
      });
    }
  });
  return new RouteTable(attached, http.sort(compareHttp), grpc.sort(compareGrpc));
}

function selectGrpc(entries: readonly GrpcEntry[], req: L7Request): GrpcEntry | undefined {
  const parts = grpcPathParts(req.path);
  for (const e of entries) {
    const methodOk = parts
      ? e.method.test(parts.service, parts.method)
      : e.method.serviceChars + e.method.methodChars === 0;
    if (methodOk && matchesHeaders(e.headers, req.headers)) return e;
  }
  return undefined;
}

function selectHttp(entries: readonly HttpEntry[], req: L7Request): HttpEntry | undefined {
  let params: Map<string, string> | undefined;
  for (const e of entries) {
    if (!matchesPath(e.path, req.path)) continue;
    if (e.method !== undefined && e.method !== req.method) continue;
    if (!matchesHeaders(e.headers, req.headers)) continue;
    if (e.query.length > 0 && !matchesQuery(e.query, (params ??= queryParams(req.query)))) continue;
    return e;
  }
  return undefined;
}

/**
 * The rule a request takes. A gRPC request tries the GRPCRoutes first, then the HTTPRoutes (a
 * GRPCRoute and an HTTPRoute are never merged); any other request only the HTTPRoutes. With routes
 * attached and none matching (GRPCRoutes only, for a plain HTTP request, included): no-match.
 */
export function selectRoute(table: RouteTable, req: L7Request): RouteDecision {
  if (table.routes.length === 0) return { kind: 'no-routes' };
  if (req.protocol === 'grpc') {
    const g = selectGrpc(table.grpc, req);
    if (g) return { kind: 'rule', route: g.route, rule: g.rule, ruleIndex: g.ruleIndex };
  }
  const h = selectHttp(table.http, req);
  if (h) return { kind: 'rule', route: h.route, rule: h.rule, ruleIndex: h.ruleIndex, match: h.match };
  return { kind: 'no-match' };
}
