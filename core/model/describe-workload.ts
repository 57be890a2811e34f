// How the mesh sees one pod, computed from a MeshState for `ambit describe <ns>/<pod>`: identity,
// enrolment, waypoint, the Services it backs, the AuthorizationPolicies that apply to it (and
// where they are enforced) and its effective mTLS mode. Pure.
import { effectiveMtlsMode, type EffectiveMtlsMode } from './peer-authentication-mode.js';
import {
  ROOT_NAMESPACE,
  type MeshAuthorizationPolicy,
  type MeshState,
  type Workload,
  type WaypointRef,
} from './mesh.js';

export interface WorkloadDescription {
  workload: Workload;
  identity: string;
  node: string;
  ips: string[];
  enrolled: boolean;
  waypoint?: WaypointRef;
  services: { namespace: string; name: string; vips: string[]; ready: boolean; waypoint?: WaypointRef }[];
  policies: {
    namespace: string;
    name: string;
    action: string;
    scope: string;
    enforcedBy: string;
    via: string;
  }[];
  mtlsMode: EffectiveMtlsMode;
}

function labelsMatch(sel: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** Why a policy applies to this workload, or undefined when it does not. */
function policyApplies(
  p: MeshAuthorizationPolicy,
  w: Workload,
  services: WorkloadDescription['services'],
): string | undefined {
  const inScope = p.namespace === w.namespace || p.namespace === ROOT_NAMESPACE;
  switch (p.scope.kind) {
    case 'namespace':
      if (p.meshWide) return 'mesh-wide (root namespace)';
      return p.namespace === w.namespace ? 'namespace-wide' : undefined;
    case 'selector':
      return inScope && labelsMatch(p.scope.matchLabels, w.labels)
        ? `selector ${JSON.stringify(p.scope.matchLabels)}`
        : undefined;
    case 'targetRefs': {
      for (const t of p.scope.targetRefs) {
        if (t.kind === 'Service' && services.some((s) => s.namespace === p.namespace && s.name === t.name)) {
          return `targetRef Service ${t.name}`;
        }
        if (t.kind === 'Gateway') {
          const viaWp = [w.waypoint, ...services.map((s) => s.waypoint)].some(
            (wp) => wp && wp.namespace === p.namespace && wp.name === t.name,
          );
          if (viaWp) return `targetRef waypoint Gateway ${t.name}`;
        }
      }
      return undefined;
    }
    default: {
      const never: never = p.scope;
      throw new Error(`unknown scope ${JSON.stringify(never)}`);
    }
  }
}

export function describeWorkload(
  state: MeshState,
  namespace: string,
  name: string,
): WorkloadDescription | undefined {
  const w = state.workloads.find((x) => x.namespace === namespace && x.name === name);
  if (!w) return undefined;
  const services = state.services.flatMap((s) => {
    const endpoint = s.endpoints.find((e) => e.workloadUid === w.uid);
    if (!endpoint) return [];
    const d: WorkloadDescription['services'][number] = {
      namespace: s.namespace,
      name: s.name,
      vips: s.vips,
      ready: endpoint.ready,
    };
    if (s.waypoint) d.waypoint = s.waypoint;
    return [d];
  });
  const policies = state.authorizationPolicies.flatMap((p) => {
    const via = policyApplies(p, w, services);
    return via
      ? [
          {
            namespace: p.namespace,
            name: p.name,
            action: p.action,
            scope: p.scope.kind,
            enforcedBy: p.enforcedBy,
            via,
          },
        ]
      : [];
  });
  const d: WorkloadDescription = {
    workload: w,
    identity: w.identity,
    node: w.node,
    ips: w.ips,
    enrolled: w.enrolled,
    services,
    policies,
    mtlsMode: effectiveMtlsMode(state.peerAuthentications, w),
  };
  if (w.waypoint) d.waypoint = w.waypoint;
  return d;
}
