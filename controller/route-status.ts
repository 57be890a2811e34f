// Route status conditions (Gateway API shapes) shown by `ambit status`. The embedded store rejects
// any config with an unresolved reference, so every accepted route is Accepted and ResolvedRefs.
import type { MeshState } from '../core/model/mesh.js';

export interface RouteStatus {
  kind: string;
  namespace: string;
  name: string;
  conditions: { type: 'Accepted' | 'ResolvedRefs'; status: 'True' | 'False'; reason: string }[];
}

export function routeStatuses(state: MeshState): { routes: RouteStatus[] } {
  return {
    routes: state.routes
      .filter((r) => r.kind !== 'TrafficPolicy')
      .map((r) => ({
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted' },
          { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' },
        ],
      })),
  };
}
