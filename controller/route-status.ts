// Route status conditions (Gateway API v1, GAMMA) shown by `ambit status`: per parent `Accepted`,
// plus `ResolvedRefs` and `PartiallyInvalid`, computed from the accepted config by pure functions.
// It decides nothing about routing and does not reject configs (validate-references.ts does): the
// embedded store rejects a config with a missing Service outright, so there BackendNotFound and
// NoMatchingParent are only reached by configs it did not check (a Kubernetes store will have them).
import type { ConfigResources } from '../core/model/validate-config.js';
import type { GrpcRoute } from '../core/model/resources/grpc-route.js';
import type { HttpRoute } from '../core/model/resources/http-route.js';
import {
  backendProblem,
  parentProblem,
  resolveParentRef,
  routeWorldOf,
  ruleBackends,
  ruleProblem,
  type ResolvedParentRef,
  type RouteWorld,
} from '../core/model/route-problems.js';
import { condition, generationOf, type StatusCondition } from './status-condition.js';

// The predicates live in core/model/route-problems.ts, shared with compile-routes.ts, so that what
// status reports as not attached, dropped or unresolved is what the compiled route leaves out or marks.
export type { RouteWorld };

export type RouteConditionType = 'Accepted' | 'ResolvedRefs' | 'PartiallyInvalid';
export type RouteCondition = StatusCondition<RouteConditionType>;

export interface RouteParentStatus {
  /** The parentRef with Gateway API's defaults filled in. */
  parentRef: ResolvedParentRef;
  conditions: RouteCondition[];
}

export interface RouteStatus {
  kind: 'HTTPRoute' | 'GRPCRoute';
  namespace: string;
  name: string;
  /** One entry per parentRef (Gateway API's status.parents); empty when the route names none. */
  parents: RouteParentStatus[];
}

type Route = HttpRoute | GrpcRoute;

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
    const parentRef = resolveParentRef(p, namespace);
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
  const world = routeWorldOf(config);
  const routes = [
    ...config.HTTPRoute.map((r) => routeStatus('HTTPRoute', r, world)),
    ...config.GRPCRoute.map((r) => routeStatus('GRPCRoute', r, world)),
  ].sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
  return { routes };
}
