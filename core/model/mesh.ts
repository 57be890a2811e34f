// The computed mesh state: what the data plane needs, derived by the controller from the raw
// config resources (core/model/resources) and carried over discovery. These are plain, immutable,
// JSON-safe records keyed by stable ids; no Kubernetes or wire shape reaches a data path through
// them. Each component converts them once into its own snapshot (ztunnel/, agent/, waypoint/).
import type { RouteFilter } from './resources/gateway-api-common.js';
import type { GrpcRouteMatch } from './resources/grpc-route.js';
import type { HttpRouteMatch } from './resources/http-route.js';

/** `<namespace>/<name>` of a Gateway of class ambit-waypoint. */
export interface WaypointRef {
  namespace: string;
  name: string;
}

export type DataplaneMode = 'ambient' | 'none';

/** A pod's status.qosClass: with the pod UID it names the kubelet's pod cgroup (agent/pod-cgroup-layout.ts). */
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** One pod as the mesh sees it. Key: `uid`. */
export interface Workload {
  uid: string;
  namespace: string;
  name: string;
  serviceAccount: string;
  /** spiffe://<trust-domain>/ns/<ns>/sa/<sa> */
  identity: string;
  node: string;
  /** Pod IPs (status.podIPs, else status.podIP); the first is the primary. */
  ips: string[];
  labels: Record<string, string>;
  /** true when the pod or its namespace carries ambit.dev/dataplane-mode: ambient and the pod does not opt out. */
  enrolled: boolean;
  /** Pod condition Ready. */
  ready: boolean;
  /** Pod is being deleted (metadata.deletionTimestamp): keeps open connections, gets no new ones. */
  terminating: boolean;
  /** Waypoint serving traffic addressed to this pod directly (ambit.dev/use-waypoint on pod or namespace). */
  waypoint?: WaypointRef;
  /** Set on waypoint pods: the Gateway they implement (gateway.networking.k8s.io/gateway-name). */
  waypointFor?: WaypointRef;
  /** cgroup v2 directory of the pod (embedded store: annotation ambit.dev/cgroup-path). */
  cgroupPath?: string | undefined;
  /** status.qosClass, when the pod has one (Kubernetes sets it; the embedded store may omit it). */
  qosClass?: QosClass | undefined;
  /** Telemetry labels (Istio's rules: service.istio.io/canonical-name, app.kubernetes.io/name, app, else workload name). */
  workloadName: string;
  canonicalService: string;
  canonicalRevision: string;
  app?: string;
  version?: string;
}

/** One Node. Key: `name`. */
export interface MeshNode {
  name: string;
  /** InternalIP: where this node's ztunnel listens (HBONE 15008). */
  address: string;
  /** spiffe://<trust-domain>/ambit/node/<name>: the identity its ztunnel presents as HBONE server. */
  identity: string;
}

export interface ServicePort {
  name?: string;
  port: number;
  /** Number, or a named container port resolved per endpoint (see Endpoint.ports). */
  targetPort: number | string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface Endpoint {
  workloadUid: string;
  ip: string;
  node: string;
  /** service port number -> port on the pod */
  ports: Record<string, number>;
  /** Ready: may receive new connections. */
  ready: boolean;
  /** Serving (EndpointSlice conditions.serving). */
  serving: boolean;
  /** Terminating: keeps open connections, gets no new ones. */
  terminating: boolean;
}

/** One Service. Key: `<namespace>/<name>`. */
export interface MeshService {
  namespace: string;
  name: string;
  /** <name>.<namespace>.svc.<cluster-domain> */
  hostname: string;
  /** ClusterIPs (empty for headless). */
  vips: string[];
  ports: ServicePort[];
  labels: Record<string, string>;
  endpoints: Endpoint[];
  waypoint?: WaypointRef;
}

export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

/** One waypoint Gateway. Key: `<namespace>/<name>`. */
export interface MeshWaypoint {
  namespace: string;
  name: string;
  for: WaypointFor;
  /** spiffe identity its pods present (their service account). */
  identity?: string | undefined;
  /** The waypoint's pods: where to send HBONE (ip:15008). */
  instances: { workloadUid: string; ip: string; node: string; ready: boolean }[];
}

export type PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** Istio security.istio.io/v1 AuthorizationPolicy rule shapes, unchanged. */
export interface AuthzSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}
export interface AuthzOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
export interface AuthzCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}
export interface AuthzRule {
  from?: { source: AuthzSource }[];
  to?: { operation: AuthzOperation }[];
  when?: AuthzCondition[];
}

/** Where a policy is enforced, as in Istio ambient. */
export type PolicyScope =
  | { kind: 'namespace' } // no selector, no targetRefs: every workload of the namespace (root namespace: mesh-wide)
  | { kind: 'selector'; matchLabels: Record<string, string> }
  | { kind: 'targetRefs'; targetRefs: { group: string; kind: string; name: string }[] };

/** One AuthorizationPolicy. Key: `<namespace>/<name>`. */
export interface MeshAuthorizationPolicy {
  namespace: string;
  name: string;
  scope: PolicyScope;
  action: PolicyAction;
  /** Absent/empty rules: ALLOW matches nothing, DENY matches nothing (Istio semantics). */
  rules: AuthzRule[];
  /** true when the root namespace holds it: applies mesh-wide. */
  meshWide: boolean;
  /** Enforcement point, decided by the controller: targetRefs -> waypoint, else ztunnel. */
  enforcedBy: 'ztunnel' | 'waypoint';
}

export type MtlsMode = 'UNSET' | 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** One PeerAuthentication. Key: `<namespace>/<name>`. */
export interface MeshPeerAuthentication {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  mode: MtlsMode;
  portLevelMtls: Record<string, MtlsMode>;
  meshWide: boolean;
}

/** A route's parent as the controller resolved it: a Service (GAMMA) or a Gateway, namespace filled in. */
export interface MeshRouteParent {
  kind: 'Service' | 'Gateway';
  namespace: string;
  name: string;
  /** Service port the route attaches to; absent: every port. */
  port?: number;
  sectionName?: string;
}

/** A backend (or mirror target) resolved to its Service, with Gateway API defaults filled in. */
export interface MeshBackendRef {
  namespace: string;
  name: string;
  /** Required for Service backends (Gateway API); validation guarantees it. */
  port: number;
  /** Relative weight; 0 sends nothing. Default 1. */
  weight: number;
  /** Filters applied only when this backend is picked. */
  filters: RouteFilter[];
  /**
   * Set when the reference does not resolve (the reason route status gives it under ResolvedRefs).
   * The backend keeps its weight, and per Gateway API the share of requests that picks it is answered
   * with HTTP 500 (HTTPRoute) or UNAVAILABLE (GRPCRoute) instead of being sent anywhere.
   */
  invalid?: BackendInvalidReason;
}

/** Gateway API's ResolvedRefs=False reasons for a backend reference. */
export const BACKEND_INVALID_REASONS = ['InvalidKind', 'RefNotPermitted', 'BackendNotFound'] as const;
export type BackendInvalidReason = (typeof BACKEND_INVALID_REASONS)[number];

/** Gateway API timeouts, durations compiled to milliseconds. */
export interface MeshRouteTimeouts {
  requestMs?: number;
  backendRequestMs?: number;
}

export interface MeshRouteRetry {
  attempts?: number;
  codes?: number[];
  backoffMs?: number;
}

export interface MeshRouteRuleCommon {
  name?: string;
  filters: RouteFilter[];
  backendRefs: MeshBackendRef[];
  timeouts?: MeshRouteTimeouts;
  retry?: MeshRouteRetry;
}

/** An HTTPRoute rule; `matches` holds Gateway API's default (PathPrefix /) when the rule had none. */
export interface MeshHttpRouteRule extends MeshRouteRuleCommon {
  matches: HttpRouteMatch[];
}

/** A GRPCRoute rule; empty `matches` matches every request (Gateway API). */
export interface MeshGrpcRouteRule extends MeshRouteRuleCommon {
  matches: GrpcRouteMatch[];
}

interface MeshRouteCommon {
  namespace: string;
  name: string;
  /** Route age for Gateway API's precedence tie break (oldest wins). */
  creationTimestamp?: string;
  parents: MeshRouteParent[];
  hostnames: string[];
}

/** An HTTPRoute or GRPCRoute compiled by the controller. Key: `<kind>/<namespace>/<name>`. */
export type MeshRoute =
  | (MeshRouteCommon & { kind: 'HTTPRoute'; rules: MeshHttpRouteRule[] })
  | (MeshRouteCommon & { kind: 'GRPCRoute'; rules: MeshGrpcRouteRule[] });

export type LoadBalancerPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';

/** A TrafficPolicy's retry with Envoy's defaults filled in; durations in milliseconds. */
export interface MeshRetryPolicy {
  /** Retries after the first attempt (0: none). */
  attempts: number;
  perTryTimeoutMs?: number;
  /** Envoy retry conditions (RETRY_ON_CONDITIONS); status codes listed in retryOn moved to retriableStatusCodes. */
  retryOn: string[];
  retriableStatusCodes: number[];
  /** Backoff between retries: exponential from baseIntervalMs (default 25) up to maxIntervalMs (default 10x base). */
  baseIntervalMs: number;
  maxIntervalMs: number;
  /** Retry a request whose bytes reached the upstream even when its method is not idempotent. */
  retryNonIdempotent: boolean;
}

/**
 * One TrafficPolicy (networking.ambit.dev/v1alpha1) compiled by the controller: its target Services
 * resolved to keys and every duration in milliseconds. Key: `<namespace>/<name>`.
 */
export interface MeshTrafficPolicy {
  namespace: string;
  name: string;
  /** `<namespace>/<name>` of each Service it applies to (same namespace as the policy). */
  services: string[];
  loadBalancer?: LoadBalancerPolicy;
  /** Ring-hash load balancing on one request header (name lowercase) or one cookie; set instead of loadBalancer. */
  consistentHash?: { header: string } | { cookie: string };
  /** Retries (Istio HTTPRetry shape, Envoy's defaults filled in); a route's own retry wins field by field. */
  retry?: MeshRetryPolicy;
  connectionPool?: {
    tcp?: { maxConnections?: number; connectTimeoutMs?: number; idleTimeoutMs?: number };
    http?: {
      http1MaxPendingRequests?: number;
      http2MaxRequests?: number;
      maxRequestsPerConnection?: number;
      maxRetries?: number;
      idleTimeoutMs?: number;
    };
  };
  outlierDetection?: {
    consecutive5xxErrors?: number;
    consecutiveGatewayErrors?: number;
    intervalMs?: number;
    baseEjectionTimeMs?: number;
    maxEjectionPercent?: number;
    minHealthPercent?: number;
  };
  retryBudget?: { percent: number; minRetryConcurrency?: number };
  fault?: {
    delay?: { percent?: number; fixedDelayMs: number };
    abort?: { percent?: number; httpStatus?: number; grpcStatus?: string };
  };
}

/**
 * A mesh destination as a node agent reads it: the IPs of one enrolled workload on another node,
 * which its kernel map marks as in the mesh (agent/reconcile.ts). A projection of the Workload of
 * the same uid, made for agent views only (core/discovery/view-for.ts); the whole state holds none.
 * Key: `uid`.
 */
export interface MeshDestination {
  uid: string;
  ips: string[];
}

/** The whole computed state; per-subscriber views are subsets of it (or, for meshDestinations, projections). */
export interface MeshState {
  trustDomain: string;
  workloads: Workload[];
  /** Empty in the whole state; an agent's view holds here the enrolled workloads of other nodes. */
  meshDestinations: MeshDestination[];
  nodes: MeshNode[];
  services: MeshService[];
  waypoints: MeshWaypoint[];
  authorizationPolicies: MeshAuthorizationPolicy[];
  peerAuthentications: MeshPeerAuthentication[];
  routes: MeshRoute[];
  trafficPolicies: MeshTrafficPolicy[];
}

/** A MeshState with nothing in it (fresh lists: the caller may fill them). */
export function emptyMeshState(trustDomain: string): MeshState {
  return {
    trustDomain,
    workloads: [],
    meshDestinations: [],
    nodes: [],
    services: [],
    waypoints: [],
    authorizationPolicies: [],
    peerAuthentications: [],
    routes: [],
    trafficPolicies: [],
  };
}

/** Resource type names used on the discovery wire (DiscoveryResource.type). */
export const MESH_RESOURCE_TYPES = [
  'workload',
  'mesh-destination',
  'node',
  'service',
  'waypoint',
  'authorization-policy',
  'peer-authentication',
  'route',
  'traffic-policy',
] as const;
export type MeshResourceType = (typeof MESH_RESOURCE_TYPES)[number];

/** The root namespace: policies there apply mesh-wide (Istio's istio-system). */
export const ROOT_NAMESPACE = 'ambit-system';
