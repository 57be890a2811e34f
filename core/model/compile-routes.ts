// Compiles validated HTTPRoute, GRPCRoute and TrafficPolicy resources into the typed mesh records
// (mesh.ts) the controller publishes: references resolved to namespaced keys, Gateway API defaults
// filled in, durations in milliseconds. Pure; runs once per resource object (memoised), so
// subscribers never see a raw manifest and never re-interpret one.
//
// A route compiles to what its status (controller/route-status.ts) says is applied, decided by the
// same predicates (route-problems.ts): a parent that does not accept the route (Accepted=False) is
// left out, and so is every parent when every rule is invalid; a dropped rule (PartiallyInvalid: an
// ExtensionRef filter) is left out; a backendRef that does not resolve (ResolvedRefs=False:
// InvalidKind, RefNotPermitted, BackendNotFound) stays with its weight and is marked `invalid`, so
// the waypoint answers that share of requests with HTTP 500 (GRPCRoute: UNAVAILABLE), as Gateway API
// requires, instead of sending it anywhere; a RequestMirror filter whose target does not resolve is
// left out (Gateway API: an unresolved mirror backend is not configured).
import type { GrpcRoute } from './resources/grpc-route.js';
import type { HttpRoute } from './resources/http-route.js';
import type { TrafficPolicy } from './resources/traffic-policy.js';
import type { RouteFilter } from './resources/gateway-api-common.js';
import { durationToMs } from './resources/values.js';
import {
  backendProblem,
  everyRuleInvalid,
  parentProblem,
  resolveParentRef,
  ruleBackends,
  ruleProblem,
  type RouteWorld,
} from './route-problems.js';
import type {
  MeshBackendRef,
  MeshGrpcRouteRule,
  MeshHttpRouteRule,
  MeshRoute,
  MeshRouteParent,
  MeshRouteRetry,
  MeshRouteRuleCommon,
  MeshRetryPolicy,
  MeshRouteTimeouts,
  MeshTrafficPolicy,
} from './mesh.js';

type RouteRule =
  NonNullable<HttpRoute['spec']['rules']>[number] | NonNullable<GrpcRoute['spec']['rules']>[number];

/** T with every field allowed to be `undefined` (the input of defined()). */
type Loose<T> = { [K in keyof T]: T[K] | undefined };

/** Only keys whose value is defined: optional record fields stay absent rather than `undefined`. */
function defined<T extends object>(o: Loose<T>): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The parents that accept the route (route status: Accepted=True), defaults filled in. */
function parentsOf(route: HttpRoute | GrpcRoute, namespace: string, world: RouteWorld): MeshRouteParent[] {
  if (everyRuleInvalid(route.spec.rules ?? [])) return [];
  return (route.spec.parentRefs ?? []).flatMap((p) => {
    const ref = resolveParentRef(p, namespace);
    // parentProblem accepts only a core Service or a gateway.networking.k8s.io Gateway
    if (parentProblem(ref, namespace, world) || (ref.kind !== 'Service' && ref.kind !== 'Gateway')) return [];
    return [
      defined<MeshRouteParent>({
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        port: ref.port,
        sectionName: ref.sectionName,
      }),
    ];
  });
}

/** Filters without the RequestMirror ones whose target does not resolve. */
function filtersOf(filters: RouteFilter[] | undefined, namespace: string, world: RouteWorld): RouteFilter[] {
  return (filters ?? []).filter(
    (f) => !f.requestMirror || !backendProblem(f.requestMirror.backendRef, namespace, world),
  );
}

function backendOf(
  b: {
    group?: string | undefined;
    kind?: string | undefined;
    name: string;
    namespace?: string | undefined;
    port?: number | undefined;
    weight?: number | undefined;
    filters?: RouteFilter[] | undefined;
  },
  namespace: string,
  world: RouteWorld,
): MeshBackendRef {
  const problem = backendProblem(b, namespace, world);
  return defined<MeshBackendRef>({
    namespace: b.namespace ?? namespace,
    name: b.name,
    // a backend without a port is invalid (BackendNotFound); 0 is never dialled
    port: b.port ?? 0,
    weight: b.weight ?? 1,
    filters: filtersOf(b.filters, namespace, world),
    invalid: problem?.reason,
  });
}

function timeoutsOf(t: RouteRule['timeouts']): MeshRouteTimeouts | undefined {
  if (!t) return undefined;
  return defined<MeshRouteTimeouts>({
    requestMs: t.request === undefined ? undefined : durationToMs(t.request),
    backendRequestMs: t.backendRequest === undefined ? undefined : durationToMs(t.backendRequest),
  });
}

function retryOf(r: RouteRule['retry']): MeshRouteRetry | undefined {
  if (!r) return undefined;
  return defined<MeshRouteRetry>({
    attempts: r.attempts,
    codes: r.codes,
    backoffMs: r.backoff === undefined ? undefined : durationToMs(r.backoff),
  });
}

function ruleCommon(rule: RouteRule, namespace: string, world: RouteWorld): MeshRouteRuleCommon {
  return defined<MeshRouteRuleCommon>({
    name: rule.name,
    filters: filtersOf(rule.filters, namespace, world),
    backendRefs: (rule.backendRefs ?? []).map((b) => backendOf(b, namespace, world)),
    timeouts: timeoutsOf(rule.timeouts),
    retry: retryOf(rule.retry),
  });
}

/**
 * What of a route depends on the world (which parents accept it, which references resolve): the
 * memo is reused only while this is unchanged, so a Service appearing or going away recompiles.
 */
function resolutionOf(route: HttpRoute | GrpcRoute, namespace: string, world: RouteWorld): string {
  const parents = (route.spec.parentRefs ?? []).map(
    (p) => parentProblem(resolveParentRef(p, namespace), namespace, world)?.reason ?? '',
  );
  const refs = (route.spec.rules ?? []).flatMap((rule, ri) =>
    ruleBackends(rule, ri).map(({ ref }) => backendProblem(ref, namespace, world)?.reason ?? ''),
  );
  return JSON.stringify([parents, refs]);
}

const routeMemo = new WeakMap<object, { resolution: string; compiled: MeshRoute }>();

/**
 * The compiled record of a validated route (its metadata.namespace is filled by validation), with
 * what its status reports as not applied left out or marked (see the top of this file).
 */
export function compileRoute(
  route: { kind: 'HTTPRoute'; object: HttpRoute } | { kind: 'GRPCRoute'; object: GrpcRoute },
  world: RouteWorld,
): MeshRoute {
  const meta = route.object.metadata;
  const namespace = meta.namespace ?? 'default';
  const resolution = resolutionOf(route.object, namespace, world);
  const hit = routeMemo.get(route.object);
  if (hit?.resolution === resolution) return hit.compiled;
  const common = {
    namespace,
    name: meta.name,
    ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}),
    parents: parentsOf(route.object, namespace, world),
    hostnames: route.object.spec.hostnames ?? [],
  };
  const applied = <R extends RouteRule>(rules: R[] | undefined): R[] =>
    (rules ?? []).filter((rule) => ruleProblem(rule) === undefined);
  let compiled: MeshRoute;
  if (route.kind === 'HTTPRoute') {
    const rules: MeshHttpRouteRule[] = applied(route.object.spec.rules).map((rule) => ({
      ...ruleCommon(rule, namespace, world),
      matches: rule.matches?.length ? rule.matches : [{ path: { type: 'PathPrefix', value: '/' } }],
    }));
    compiled = { kind: 'HTTPRoute', ...common, rules };
  } else {
    const rules: MeshGrpcRouteRule[] = applied(route.object.spec.rules).map((rule) => ({
      ...ruleCommon(rule, namespace, world),
      matches: rule.matches ?? [],
    }));
    compiled = { kind: 'GRPCRoute', ...common, rules };
  }
  routeMemo.set(route.object, { resolution, compiled });
  return compiled;
}

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : durationToMs(d));

type Pool = NonNullable<MeshTrafficPolicy['connectionPool']>;
type Fault = NonNullable<MeshTrafficPolicy['fault']>;

const policyMemo = new WeakMap<TrafficPolicy, MeshTrafficPolicy>();

type ConsistentHashSpec = NonNullable<NonNullable<TrafficPolicy['spec']['loadBalancer']>['consistentHash']>;

function consistentHashOf(h: ConsistentHashSpec | undefined): MeshTrafficPolicy['consistentHash'] {
  if (h?.httpHeaderName !== undefined) return { header: h.httpHeaderName.toLowerCase() };
  if (h?.httpCookie !== undefined) return { cookie: h.httpCookie.name };
  return undefined;
}

/** Envoy's retry defaults: retry_on of Istio's default route retry, 25 ms base interval, max 10x base. */
export const DEFAULT_RETRY_ON = '5xx,reset,connect-failure,refused-stream,unavailable';
export const DEFAULT_RETRY_BASE_INTERVAL_MS = 25;

function retryPolicyOf(r: TrafficPolicy['spec']['retry']): MeshRetryPolicy | undefined {
  if (!r) return undefined;
  const conditions = (r.retryOn ?? DEFAULT_RETRY_ON).split(',').map((c) => c.trim());
  const codes = new Set(r.retriableStatusCodes ?? []);
  const retryOn: string[] = [];
  for (const c of conditions) {
    if (/^[0-9]+$/.test(c)) codes.add(Number(c));
    else if (!retryOn.includes(c)) retryOn.push(c);
  }
  const baseIntervalMs = r.backoff ? durationToMs(r.backoff.baseInterval) : DEFAULT_RETRY_BASE_INTERVAL_MS;
  return defined<MeshRetryPolicy>({
    attempts: r.attempts,
    perTryTimeoutMs: ms(r.perTryTimeout),
    retryOn,
    retriableStatusCodes: [...codes].sort((a, b) => a - b),
    baseIntervalMs,
    maxIntervalMs: ms(r.backoff?.maxInterval) ?? baseIntervalMs * 10,
    retryNonIdempotent: r.retryNonIdempotent ?? false,
  });
}

/** The compiled record of a validated TrafficPolicy. */
export function compileTrafficPolicy(p: TrafficPolicy): MeshTrafficPolicy {
  const hit = policyMemo.get(p);
  if (hit) return hit;
  const namespace = p.metadata.namespace ?? 'default';
  const { connectionPool: pool, outlierDetection: od, fault, retryBudget, loadBalancer: lb } = p.spec;
  const compiled = defined<MeshTrafficPolicy>({
    namespace,
    name: p.metadata.name,
    services: p.spec.targetRefs.map((t) => `${namespace}/${t.name}`),
    loadBalancer: lb?.simple,
    consistentHash: consistentHashOf(lb?.consistentHash),
    retry: retryPolicyOf(p.spec.retry),
    connectionPool: pool
      ? defined<Pool>({
          tcp: pool.tcp
            ? defined<NonNullable<Pool['tcp']>>({
                maxConnections: pool.tcp.maxConnections,
                connectTimeoutMs: ms(pool.tcp.connectTimeout),
                idleTimeoutMs: ms(pool.tcp.idleTimeout),
              })
            : undefined,
          http: pool.http
            ? defined<NonNullable<Pool['http']>>({
                http1MaxPendingRequests: pool.http.http1MaxPendingRequests,
                http2MaxRequests: pool.http.http2MaxRequests,
                maxRequestsPerConnection: pool.http.maxRequestsPerConnection,
                maxRetries: pool.http.maxRetries,
                idleTimeoutMs: ms(pool.http.idleTimeout),
              })
            : undefined,
        })
      : undefined,
    outlierDetection: od
      ? defined<NonNullable<MeshTrafficPolicy['outlierDetection']>>({
          consecutive5xxErrors: od.consecutive5xxErrors,
          consecutiveGatewayErrors: od.consecutiveGatewayErrors,
          intervalMs: ms(od.interval),
          baseEjectionTimeMs: ms(od.baseEjectionTime),
          maxEjectionPercent: od.maxEjectionPercent,
          minHealthPercent: od.minHealthPercent,
        })
      : undefined,
    retryBudget: retryBudget
      ? defined<NonNullable<MeshTrafficPolicy['retryBudget']>>({ ...retryBudget })
      : undefined,
    fault: fault
      ? defined<Fault>({
          delay: fault.delay
            ? defined<NonNullable<Fault['delay']>>({
                percent: fault.delay.percentage?.value,
                fixedDelayMs: durationToMs(fault.delay.fixedDelay),
              })
            : undefined,
          abort: fault.abort
            ? defined<NonNullable<Fault['abort']>>({
                percent: fault.abort.percentage?.value,
                httpStatus: fault.abort.httpStatus,
                grpcStatus: fault.abort.grpcStatus,
              })
            : undefined,
        })
      : undefined,
  });
  policyMemo.set(p, compiled);
  return compiled;
}
