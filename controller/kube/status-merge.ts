// The status an object should carry next, given what it carries now and what we want (status-
// targets.ts), or undefined when nothing of ours would change, so an unchanged status is never
// written. Compared without lastTransitionTime; a condition keeps its lastTransitionTime while
// its status (True/False) stays, as metav1 conditions do (meta.SetStatusCondition). What is not
// ours stays as it is: other controllers' entries in a route's status.parents, other condition
// types on a Gateway, every other status field. Pure; `now` is given.
import type { StatusCondition } from '../status-condition.js';
import { WAYPOINT_CONTROLLER_NAME, type GatewayTarget, type RouteTarget } from './status-targets.js';

/** metav1.Condition as stored. */
export interface KubeCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface KubeParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  port?: number;
  sectionName?: string;
}

export interface KubeRouteParentStatus {
  parentRef: KubeParentRef;
  controllerName: string;
  conditions?: KubeCondition[];
  [k: string]: unknown;
}

export interface KubeRouteStatus {
  parents?: KubeRouteParentStatus[];
  [k: string]: unknown;
}

export interface KubeGatewayStatus {
  conditions?: KubeCondition[];
  addresses?: { type?: string; value: string }[];
  [k: string]: unknown;
}

/** metav1.Time: RFC 3339 to the second, as the API server stores it. */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const conditionKey = (
  c: Pick<KubeCondition, 'type' | 'status' | 'reason' | 'message' | 'observedGeneration'>,
) => JSON.stringify([c.type, c.status, c.reason, c.message, c.observedGeneration ?? null]);

/** Two condition lists say the same, lastTransitionTime aside (order matters: we write ours in one order). */
export function sameConditions(
  a: readonly Pick<KubeCondition, 'type' | 'status' | 'reason' | 'message' | 'observedGeneration'>[],
  b: readonly Pick<KubeCondition, 'type' | 'status' | 'reason' | 'message' | 'observedGeneration'>[],
): boolean {
  return (
    a.length === b.length &&
    a.every((c, i) => {
      const d = b[i];
      return d !== undefined && conditionKey(c) === conditionKey(d);
    })
  );
}

/** Our wanted conditions as stored, each keeping the previous lastTransitionTime of its type while its status holds. */
export function stampConditions(
  previous: readonly KubeCondition[] | undefined,
  wanted: readonly StatusCondition[],
  now: string,
): KubeCondition[] {
  return wanted.map((w) => {
    const old = previous?.find((p) => p.type === w.type);
    const c: KubeCondition = {
      type: w.type,
      status: w.status,
      reason: w.reason,
      message: w.message,
      lastTransitionTime: old && old.status === w.status ? old.lastTransitionTime : now,
    };
    if (w.observedGeneration !== undefined) c.observedGeneration = w.observedGeneration;
    return c;
  });
}

/** A parentRef with Gateway API's defaults, for matching what we wrote with what we want. */
function parentRefKey(p: KubeParentRef, routeNamespace: string): string {
  const kind = p.kind ?? 'Gateway';
  const group = p.group ?? (kind === 'Service' ? '' : 'gateway.networking.k8s.io');
  return JSON.stringify([
    group === 'core' ? '' : group,
    kind,
    p.namespace ?? routeNamespace,
    p.name,
    p.port ?? null,
    p.sectionName ?? null,
  ]);
}

/** A route's next status (ours replaced, others' entries kept in place), or undefined when ours are unchanged. */
export function nextRouteStatus(
  current: KubeRouteStatus | undefined,
  target: RouteTarget,
  now: string,
): KubeRouteStatus | undefined {
  const parents = current?.parents ?? [];
  const others = parents.filter((p) => p.controllerName !== WAYPOINT_CONTROLLER_NAME);
  const ours = parents.filter((p) => p.controllerName === WAYPOINT_CONTROLLER_NAME);
  const next = target.parents.map((t): KubeRouteParentStatus => {
    const key = parentRefKey(t.parentRef, target.namespace);
    const old = ours.find((o) => parentRefKey(o.parentRef, target.namespace) === key);
    return {
      parentRef: { ...t.parentRef },
      controllerName: t.controllerName,
      conditions: stampConditions(old?.conditions, t.conditions, now),
    };
  });
  const unchanged =
    ours.length === next.length &&
    ours.every((o, i) => {
      const n = next[i];
      return (
        n !== undefined &&
        parentRefKey(o.parentRef, target.namespace) === parentRefKey(n.parentRef, target.namespace) &&
        sameConditions(o.conditions ?? [], n.conditions ?? [])
      );
    });
  if (unchanged) return undefined;
  return { ...current, parents: [...others, ...next] };
}

/** A waypoint Gateway's next status (our condition types and addresses), or undefined when unchanged. */
export function nextGatewayStatus(
  current: KubeGatewayStatus | undefined,
  target: GatewayTarget,
  now: string,
): KubeGatewayStatus | undefined {
  const conditions = current?.conditions ?? [];
  const ourTypes = new Set(target.conditions.map((c) => c.type));
  const oldOurs = target.conditions.flatMap((t) => conditions.filter((c) => c.type === t.type).slice(0, 1));
  const stamped = stampConditions(conditions, target.conditions, now);
  const addresses = (current?.addresses ?? []).map((a) => `${a.type ?? 'IPAddress'}/${a.value}`);
  const sameAddresses =
    addresses.length === target.addresses.length &&
    target.addresses.every((a, i) => addresses[i] === `${a.type}/${a.value}`);
  if (sameConditions(oldOurs, stamped) && sameAddresses) return undefined;
  const next: KubeGatewayStatus = {
    ...current,
    // ours first, in our order; condition types other writers set stay after them
    conditions: [...stamped, ...conditions.filter((c) => !ourTypes.has(c.type))],
  };
  if (target.addresses.length > 0) next.addresses = target.addresses.map((a) => ({ ...a }));
  else delete next.addresses;
  return next;
}
