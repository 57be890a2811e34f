// Route status conditions (Gateway API v1, GAMMA) shown by `ambit status`: per parent `Accepted`,
// plus `ResolvedRefs` and `PartiallyInvalid`, computed from the accepted config by pure functions.
// It decides nothing about routing and does not reject configs (validate-references.ts does): the
// embedded store rejects a config with a missing Service outright, so there BackendNotFound and
// NoMatchingParent are only reached by configs it did not check (a Kubernetes store will have them).
import type { ConfigResources } from '../core/model/validate-config.js';
import type { Gateway } from '../core/model/resources/gateway.js';
import type { GrpcRoute } from '../core/model/resources/grpc-route.js';
import type { HttpRoute } from '../core/model/resources/http-route.js';
import type { Service } from '../core/model/resources/service.js';
import { WAYPOINT_CLASS } from '../core/model/resources/gateway.js';
import { condition, generationOf, type StatusCondition } from './status-condition.js';

export type RouteConditionType = 'Accepted' | 'ResolvedRefs' | 'PartiallyInvalid';
export type RouteCondition = StatusCondition<RouteConditionType>;

export interface RouteParentStatus {
  /** The parentRef with Gateway API's defaults filled in. */
  parentRef: {
    group: string;
    kind: string;
    namespace: string;
    name: string;
    port?: number;
    sectionName?: string;
  };
  conditions: RouteCondition[];
}

export interface RouteStatus {
  kind: 'HTTPRoute' | 'GRPCRoute';
  namespace: string;
  name: string;
  /** One entry per parentRef (Gateway API's status.parents); empty when the route names none. */
  parents: RouteParentStatus[];
}

/** The objects a route's references can point at. */
export interface RouteWorld {
  service(namespace: string, name: string): Service | undefined;
  gateway(namespace: string, name: string): Gateway | undefined;
}

type Route = HttpRoute | GrpcRoute;
type Rule = NonNullable<Route['spec']['rules']>[number];
type Filter = NonNullable<Rule['filters']>[number];
interface BackendObjectRef {
  group?: string | undefined;
  kind?: string | undefined;
  name: string;
  namespace?: string | undefined;
  port?: number | undefined;
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const isCoreGroup = (g: string): boolean => g === '' || g === 'core';

/** Accepted for one parent: [reason, message] of why not, or undefined when the route attaches. */
function parentProblem(
  p: RouteParentStatus['parentRef'],
  routeNamespace: string,
  world: RouteWorld,
): { reason: string; message: string } | undefined {
  const ref = `${p.kind} ${p.namespace}/${p.name}`;
  if (p.kind === 'Service' && isCoreGroup(p.group)) {
    const svc = world.service(p.namespace, p.name);
    if (!svc) return { reason: 'NoMatchingParent', message: `${ref} does not exist` };
    if (p.namespace !== routeNamespace) {
      return {
        reason: 'NoMatchingParent',
        message: `${ref} is in another namespace: Ambit applies producer routes only (put the route in namespace ${p.namespace})`,
      };
    }
    const ports = svc.spec?.ports ?? [];
    if (p.port !== undefined && !ports.some((sp) => sp.port === p.port))
      return { reason: 'NoMatchingParent', message: `${ref} has no port ${p.port}` };
    if (p.sectionName !== undefined && !ports.some((sp) => sp.name === p.sectionName))
      return { reason: 'NoMatchingParent', message: `${ref} has no port named ${p.sectionName}` };
    return undefined;
  }
  if (p.kind === 'Gateway' && p.group === GATEWAY_GROUP) {
    const gw = world.gateway(p.namespace, p.name);
    if (!gw) return { reason: 'NoMatchingParent', message: `${ref} does not exist` };
    if (gw.spec.gatewayClassName !== WAYPOINT_CLASS) {
      return {
        reason: 'NoMatchingParent',
        message: `${ref} is of class ${gw.spec.gatewayClassName}, not ${WAYPOINT_CLASS}: no Ambit waypoint serves it`,
      };
    }
    if (p.namespace !== routeNamespace) {
      return {
        reason: 'NotAllowedByListeners',
        message: `${ref} admits routes from its own namespace only (allowedRoutes defaults to Same)`,
      };
    }
    const listeners = gw.spec.listeners.filter(
      (l) =>
        (p.sectionName === undefined || l.name === p.sectionName) &&
        (p.port === undefined || l.port === p.port),
    );
    if (!listeners.length) {
      const want = [
        p.sectionName === undefined ? '' : `named ${p.sectionName}`,
        p.port === undefined ? '' : `on port ${p.port}`,
      ]
        .filter(Boolean)
        .join(' ');
      return { reason: 'NoMatchingParent', message: `${ref} has no listener ${want}` };
    }
    return undefined;
  }
  return {
    reason: 'NoMatchingParent',
    message: `unsupported parent ${p.group || 'core'}/${p.kind}: use a Service or a waypoint Gateway`,
  };
}

/** Every backend a rule sends to: its backendRefs and RequestMirror targets, with field paths. */
function ruleBackends(rule: Rule, ri: number) {
  const out: {
    field: string;
    ref: BackendObjectRef;
  }[] = [];
  const mirrors = (filters: Filter[] | undefined, at: string): void =>
    (filters ?? []).forEach((f, fi) => {
      if (f.requestMirror)
        out.push({ field: `${at}.filters[${fi}].requestMirror.backendRef`, ref: f.requestMirror.backendRef });
    });
  (rule.backendRefs ?? []).forEach((b, bi) => {
    out.push({ field: `spec.rules[${ri}].backendRefs[${bi}]`, ref: b });
    mirrors(b.filters, `spec.rules[${ri}].backendRefs[${bi}]`);
  });
  mirrors(rule.filters, `spec.rules[${ri}]`);
  return out;
}

/** ResolvedRefs problems of one backend reference, in Gateway API's reasons. */
function backendProblem(
  ref: BackendObjectRef,
  routeNamespace: string,
  world: RouteWorld,
): { reason: string; message: string } | undefined {
  const kind = ref.kind ?? 'Service';
  const group = ref.group ?? '';
  if (kind !== 'Service' || !isCoreGroup(group))
    return {
      reason: 'InvalidKind',
      message: `backend kind ${group || 'core'}/${kind} is not supported: use a Service`,
    };
  const ns = ref.namespace ?? routeNamespace;
  if (ns !== routeNamespace) {
    // ReferenceGrant is not a kind the config accepts, so no cross-namespace reference is granted
    return {
      reason: 'RefNotPermitted',
      message: `Service ${ns}/${ref.name} is in another namespace and no ReferenceGrant permits it`,
    };
  }
  const svc = world.service(ns, ref.name);
  if (!svc) return { reason: 'BackendNotFound', message: `Service ${ns}/${ref.name} does not exist` };
  if (ref.port === undefined)
    return { reason: 'BackendNotFound', message: `Service ${ns}/${ref.name}: a port is required` };
  const ports = svc.spec?.ports ?? [];
  if (!ports.some((p) => p.port === ref.port))
    return { reason: 'BackendNotFound', message: `Service ${ns}/${ref.name} has no port ${ref.port}` };
  return undefined;
}

/**
 * Why a rule cannot be applied, or undefined. Ambit knows no filter extensions, so a rule with an
 * ExtensionRef filter (Gateway API's implementation-specific filter type) is invalid and dropped.
 */
export function ruleProblem(rule: Rule): string | undefined {
  const filters = [...(rule.filters ?? []), ...(rule.backendRefs ?? []).flatMap((b) => b.filters ?? [])];
  const ext = filters.find((f) => f.type === 'ExtensionRef');
  if (!ext) return undefined;
  const target = ext.extensionRef
    ? ` (${ext.extensionRef.group}/${ext.extensionRef.kind} ${ext.extensionRef.name})`
    : '';
  return `ExtensionRef filters are not supported${target}`;
}

/** The status of one route: pure, from the route and the objects its references can reach. */
export function routeStatus(kind: RouteStatus['kind'], route: Route, world: RouteWorld): RouteStatus {
  const namespace = route.metadata.namespace ?? 'default';
  const gen = generationOf(route.metadata);
  const rules = route.spec.rules ?? [];

  const refProblems = rules.flatMap((rule, ri) =>
    ruleBackends(rule, ri).flatMap(({ field, ref }) => {
      const p = backendProblem(ref, namespace, world);
      return p ? [{ ...p, message: `${field}: ${p.message}` }] : [];
    }),
  );
  const first = refProblems[0];
  const resolvedRefs = first
    ? condition('ResolvedRefs', 'False', first.reason, refProblems.map((p) => p.message).join('; '), gen)
    : condition('ResolvedRefs', 'True', 'ResolvedRefs', 'all references resolved', gen);

  const dropped = rules.flatMap((rule, ri) => {
    const why = ruleProblem(rule);
    return why ? [`${ri}${rule.name ? ` (${rule.name})` : ''}: ${why}`] : [];
  });
  const allInvalid = dropped.length > 0 && dropped.length === rules.length;
  const partiallyInvalid =
    dropped.length > 0 && !allInvalid
      ? [
          condition(
            'PartiallyInvalid',
            'True',
            'UnsupportedValue',
            `Dropped Rule(s) ${dropped.join('; ')}`,
            gen,
          ),
        ]
      : [];

  const parents = (route.spec.parentRefs ?? []).map((p): RouteParentStatus => {
    const pkind = p.kind ?? 'Gateway';
    const parentRef: RouteParentStatus['parentRef'] = {
      group: p.group ?? (pkind === 'Service' ? '' : GATEWAY_GROUP),
      kind: pkind,
      namespace: p.namespace ?? namespace,
      name: p.name,
    };
    if (p.port !== undefined) parentRef.port = p.port;
    if (p.sectionName !== undefined) parentRef.sectionName = p.sectionName;
    const problem = parentProblem(parentRef, namespace, world);
    const accepted = problem
      ? condition('Accepted', 'False', problem.reason, problem.message, gen)
      : allInvalid
        ? condition(
            'Accepted',
            'False',
            'UnsupportedValue',
            `every rule is invalid: ${dropped.join('; ')}`,
            gen,
          )
        : condition('Accepted', 'True', 'Accepted', 'attached', gen);
    return { parentRef, conditions: [accepted, resolvedRefs, ...partiallyInvalid] };
  });
  return { kind, namespace, name: route.metadata.name, parents };
}

/** Status of every HTTPRoute and GRPCRoute in an accepted config, sorted by kind/namespace/name. */
export function routeStatuses(config: ConfigResources): { routes: RouteStatus[] } {
  const key = (ns: string | undefined, name: string): string => `${ns ?? 'default'}/${name}`;
  const services = new Map(config.Service.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const gateways = new Map(config.Gateway.map((g) => [key(g.metadata.namespace, g.metadata.name), g]));
  const world: RouteWorld = {
    service: (ns, name) => services.get(key(ns, name)),
    gateway: (ns, name) => gateways.get(key(ns, name)),
  };
  const routes = [
    ...config.HTTPRoute.map((r) => routeStatus('HTTPRoute', r, world)),
    ...config.GRPCRoute.map((r) => routeStatus('GRPCRoute', r, world)),
  ].sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
  return { routes };
}
