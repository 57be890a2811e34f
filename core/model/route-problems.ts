// What of a route cannot be applied, decided once for both its readers: route status (controller/
// route-status.ts, Gateway API conditions shown by `ambit status`) and route compilation
// (compile-routes.ts, the records the waypoint receives). Pure predicates over the route and the
// Services and Gateways it can reach, so what status reports as not attached, dropped or unresolved
// is exactly what the compiled record leaves out or marks.
import type { BackendInvalidReason } from './mesh.js';
import type { ConfigResources } from './validate-config.js';
import type { Gateway } from './resources/gateway.js';
import type { GrpcRoute } from './resources/grpc-route.js';
import type { HttpRoute } from './resources/http-route.js';
import type { ParentRef, RouteFilter } from './resources/gateway-api-common.js';
import type { Service } from './resources/service.js';
import { WAYPOINT_CLASS } from './resources/gateway.js';

/** The objects a route's references can point at. */
export interface RouteWorld {
  service(namespace: string, name: string): Service | undefined;
  gateway(namespace: string, name: string): Gateway | undefined;
}

/** The RouteWorld of an accepted config. */
export function routeWorldOf(config: Pick<ConfigResources, 'Service' | 'Gateway'>): RouteWorld {
  const key = (ns: string | undefined, name: string): string => `${ns ?? 'default'}/${name}`;
  const services = new Map(config.Service.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const gateways = new Map(config.Gateway.map((g) => [key(g.metadata.namespace, g.metadata.name), g]));
  return {
    service: (ns, name) => services.get(key(ns, name)),
    gateway: (ns, name) => gateways.get(key(ns, name)),
  };
}

type Route = HttpRoute | GrpcRoute;
export type RouteRule = NonNullable<Route['spec']['rules']>[number];

export interface BackendObjectRef {
  group?: string | undefined;
  kind?: string | undefined;
  name: string;
  namespace?: string | undefined;
  port?: number | undefined;
}

/** A parentRef with Gateway API's defaults filled in. */
export interface ResolvedParentRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  port?: number;
  sectionName?: string;
}

export interface Problem<Reason extends string = string> {
  reason: Reason;
  message: string;
}

/** Gateway API's ResolvedRefs=False reasons Ambit reports for a backend reference. */
export type BackendProblemReason = BackendInvalidReason;

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const isCoreGroup = (g: string): boolean => g === '' || g === 'core';

/** A parentRef with its defaults: kind Gateway, group by kind, the route's namespace. */
export function resolveParentRef(p: ParentRef, routeNamespace: string): ResolvedParentRef {
  const kind = p.kind ?? 'Gateway';
  const out: ResolvedParentRef = {
    group: p.group ?? (kind === 'Service' ? '' : GATEWAY_GROUP),
    kind,
    namespace: p.namespace ?? routeNamespace,
    name: p.name,
  };
  if (p.port !== undefined) out.port = p.port;
  if (p.sectionName !== undefined) out.sectionName = p.sectionName;
  return out;
}

/** Why a route is not Accepted by one parent (Gateway API reasons), or undefined when it attaches. */
export function parentProblem(
  p: ResolvedParentRef,
  routeNamespace: string,
  world: RouteWorld,
): Problem | undefined {
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

/** ResolvedRefs problem of one backend reference (backendRef or mirror target), or undefined. */
export function backendProblem(
  ref: BackendObjectRef,
  routeNamespace: string,
  world: RouteWorld,
): Problem<BackendProblemReason> | undefined {
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

/** Every backend a rule sends to: its backendRefs and RequestMirror targets, with field paths. */
export function ruleBackends(rule: RouteRule, ri: number): { field: string; ref: BackendObjectRef }[] {
  const out: { field: string; ref: BackendObjectRef }[] = [];
  const mirrors = (filters: RouteFilter[] | undefined, at: string): void =>
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

/**
 * Why a rule cannot be applied, or undefined. Ambit knows no filter extensions, so a rule with an
 * ExtensionRef filter (Gateway API's implementation-specific filter type) is invalid and dropped.
 */
export function ruleProblem(rule: RouteRule): string | undefined {
  const filters = [...(rule.filters ?? []), ...(rule.backendRefs ?? []).flatMap((b) => b.filters ?? [])];
  const ext = filters.find((f) => f.type === 'ExtensionRef');
  if (!ext) return undefined;
  const target = ext.extensionRef
    ? ` (${ext.extensionRef.group}/${ext.extensionRef.kind} ${ext.extensionRef.name})`
    : '';
  return `ExtensionRef filters are not supported${target}`;
}

/** True when every rule is dropped: then no parent accepts the route (Accepted=False, UnsupportedValue). */
export function everyRuleInvalid(rules: readonly RouteRule[]): boolean {
  return rules.length > 0 && rules.every((r) => ruleProblem(r) !== undefined);
}
