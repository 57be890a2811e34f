// The computed mesh state: what the data plane needs, derived by the controller from the raw
// config resources (core/model/resources) and carried over discovery. These are plain, immutable,
// JSON-safe records keyed by stable ids; no Kubernetes or wire shape reaches a data path through
// them. Each component converts them once into its own snapshot (ztunnel/, agent/, waypoint/).

/** `<namespace>/<name>` of a Gateway of class ambit-waypoint. */
export interface WaypointRef {
  namespace: string;
  name: string;
}

export type DataplaneMode = 'ambient' | 'none';

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
  cgroupPath?: string;
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
  identity?: string;
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

/** Raw validated Gateway API / Ambit routing resources, passed to waypoints as they are. Key: `<namespace>/<name>`. */
export interface MeshRouteResource {
  kind: 'HTTPRoute' | 'GRPCRoute' | 'TrafficPolicy';
  namespace: string;
  name: string;
  creationTimestamp?: string;
  spec: Record<string, unknown>;
}

/** The whole computed state; per-subscriber views are subsets of it. */
export interface MeshState {
  trustDomain: string;
  workloads: Workload[];
  nodes: MeshNode[];
  services: MeshService[];
  waypoints: MeshWaypoint[];
  authorizationPolicies: MeshAuthorizationPolicy[];
  peerAuthentications: MeshPeerAuthentication[];
  routes: MeshRouteResource[];
}

/** A MeshState with nothing in it (fresh lists: the caller may fill them). */
export function emptyMeshState(trustDomain: string): MeshState {
  return {
    trustDomain,
    workloads: [],
    nodes: [],
    services: [],
    waypoints: [],
    authorizationPolicies: [],
    peerAuthentications: [],
    routes: [],
  };
}

/** Resource type names used on the discovery wire (DiscoveryResource.type). */
export const MESH_RESOURCE_TYPES = [
  'workload',
  'node',
  'service',
  'waypoint',
  'authorization-policy',
  'peer-authentication',
  'route',
] as const;
export type MeshResourceType = (typeof MESH_RESOURCE_TYPES)[number];

/** The root namespace: policies there apply mesh-wide (Istio's istio-system). */
export const ROOT_NAMESPACE = 'ambit-system';
