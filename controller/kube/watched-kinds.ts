// The kinds the Kubernetes config store watches (issue 10, DESIGN.md §6): where each is served
// (group, version, plural), its scope, and whether its API may be absent (CRDs that are a
// prerequisite, not part of every cluster). One table; the reflector and the store read it.
import type { ResourceKind } from '../../core/model/resources/resource-kinds.js';

export interface WatchedKind {
  kind: ResourceKind;
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const K = (kind: ResourceKind, group: string, version: string, plural: string, namespaced: boolean) =>
  ({ kind, group, version, plural, namespaced }) satisfies WatchedKind;

export const WATCHED_KINDS: readonly WatchedKind[] = [
  K('Namespace', '', 'v1', 'namespaces', false),
  K('Node', '', 'v1', 'nodes', false),
  K('ServiceAccount', '', 'v1', 'serviceaccounts', true),
  K('Pod', '', 'v1', 'pods', true),
  K('Service', '', 'v1', 'services', true),
  K('EndpointSlice', 'discovery.k8s.io', 'v1', 'endpointslices', true),
  K('Gateway', 'gateway.networking.k8s.io', 'v1', 'gateways', true),
  K('HTTPRoute', 'gateway.networking.k8s.io', 'v1', 'httproutes', true),
  K('GRPCRoute', 'gateway.networking.k8s.io', 'v1', 'grpcroutes', true),
  K('AuthorizationPolicy', 'security.ambit.dev', 'v1', 'authorizationpolicies', true),
  K('PeerAuthentication', 'security.ambit.dev', 'v1', 'peerauthentications', true),
  K('TrafficPolicy', 'networking.ambit.dev', 'v1alpha1', 'trafficpolicies', true),
];

export const apiVersionOf = (k: WatchedKind): string => (k.group ? `${k.group}/${k.version}` : k.version);

/** The cluster-wide collection path, e.g. `/api/v1/pods` or `/apis/gateway.networking.k8s.io/v1/httproutes`. */
export function collectionPath(k: WatchedKind): string {
  return k.group ? `/apis/${k.group}/${k.version}/${k.plural}` : `/api/${k.version}/${k.plural}`;
}
