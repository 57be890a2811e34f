// Compiles validated HTTPRoute, GRPCRoute and TrafficPolicy resources into the typed mesh records
// (mesh.ts) the controller publishes: references resolved to namespaced keys, Gateway API defaults
// filled in, durations in milliseconds. Pure; runs once per resource object (memoised), so
// subscribers never see a raw manifest and never re-interpret one.
import type { GrpcRoute } from './resources/grpc-route.js';
import type { HttpRoute } from './resources/http-route.js';
import type { TrafficPolicy } from './resources/traffic-policy.js';
import type { RouteFilter } from './resources/gateway-api-common.js';
import { durationToMs } from './resources/values.js';
import type {
  MeshBackendRef,
  MeshGrpcRouteRule,
  MeshHttpRouteRule,
  MeshRoute,
  MeshRouteParent,
  MeshRouteRetry,
  MeshRouteRuleCommon,
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

function parentsOf(route: HttpRoute | GrpcRoute, namespace: string): MeshRouteParent[] {
  return (route.spec.parentRefs ?? []).map((p) => {
    const kind = (p.kind ?? 'Gateway') === 'Service' ? 'Service' : 'Gateway';
    return defined<MeshRouteParent>({
      kind,
      namespace: p.namespace ?? namespace,
      name: p.name,
      port: p.port,
      sectionName: p.sectionName,
    });
  });
}

function backendOf(
  b: { name: string; namespace?: string | undefined; port?: number | undefined; weight?: number | undefined },
  filters: RouteFilter[] | undefined,
  namespace: string,
): MeshBackendRef {
  // validate-references.ts requires a port on every Service backend; 0 only if that check is bypassed
  return {
    namespace: b.namespace ?? namespace,
    name: b.name,
    port: b.port ?? 0,
    weight: b.weight ?? 1,
    filters: filters ?? [],
  };
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

function ruleCommon(rule: RouteRule, namespace: string): MeshRouteRuleCommon {
  return defined<MeshRouteRuleCommon>({
    name: rule.name,
    filters: rule.filters ?? [],
    backendRefs: (rule.backendRefs ?? []).map((b) => backendOf(b, b.filters, namespace)),
    timeouts: timeoutsOf(rule.timeouts),
    retry: retryOf(rule.retry),
  });
}

const routeMemo = new WeakMap<object, MeshRoute>();

/** The compiled record of a validated route (its metadata.namespace is filled by validation). */
export function compileRoute(
  route: { kind: 'HTTPRoute'; object: HttpRoute } | { kind: 'GRPCRoute'; object: GrpcRoute },
): MeshRoute {
  const hit = routeMemo.get(route.object);
  if (hit) return hit;
  const meta = route.object.metadata;
  const namespace = meta.namespace ?? 'default';
  const common = {
    namespace,
    name: meta.name,
    ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}),
    parents: parentsOf(route.object, namespace),
    hostnames: route.object.spec.hostnames ?? [],
  };
  let compiled: MeshRoute;
  if (route.kind === 'HTTPRoute') {
    const rules: MeshHttpRouteRule[] = (route.object.spec.rules ?? []).map((rule) => ({
      ...ruleCommon(rule, namespace),
      matches: rule.matches?.length ? rule.matches : [{ path: { type: 'PathPrefix', value: '/' } }],
    }));
    compiled = { kind: 'HTTPRoute', ...common, rules };
  } else {
    const rules: MeshGrpcRouteRule[] = (route.object.spec.rules ?? []).map((rule) => ({
      ...ruleCommon(rule, namespace),
      matches: rule.matches ?? [],
    }));
    compiled = { kind: 'GRPCRoute', ...common, rules };
  }
  routeMemo.set(route.object, compiled);
  return compiled;
}

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : durationToMs(d));

type Pool = NonNullable<MeshTrafficPolicy['connectionPool']>;
type Fault = NonNullable<MeshTrafficPolicy['fault']>;

const policyMemo = new WeakMap<TrafficPolicy, MeshTrafficPolicy>();

/** The compiled record of a validated TrafficPolicy. */
export function compileTrafficPolicy(p: TrafficPolicy): MeshTrafficPolicy {
  const hit = policyMemo.get(p);
  if (hit) return hit;
  const namespace = p.metadata.namespace ?? 'default';
  const { connectionPool: pool, outlierDetection: od, fault, retryBudget } = p.spec;
  const compiled = defined<MeshTrafficPolicy>({
    namespace,
    name: p.metadata.name,
    services: p.spec.targetRefs.map((t) => `${namespace}/${t.name}`),
    loadBalancer: p.spec.loadBalancer?.simple,
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
