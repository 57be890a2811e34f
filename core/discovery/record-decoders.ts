// One decoder per discovery record kind: the edge where a record's JSON from the wire becomes a
// typed mesh record (core/model/mesh.ts), or an error naming the record type, its key and every
// invalid field path. Nothing past this file casts a wire record. Unknown fields are dropped (a
// newer controller may add some); missing or mistyped ones are errors, so the push is NACKed.
import { z } from 'zod';
import { grpcRouteMatch } from '../model/resources/grpc-route.js';
import { httpRouteMatch } from '../model/resources/http-route.js';
import { routeFilter } from '../model/resources/gateway-api-common.js';
import { formatFieldPath } from '../model/config-error.js';
import { zodIssueMessage } from '../model/zod-issue-message.js';
import type {
  AuthzRule,
  Endpoint,
  MeshAuthorizationPolicy,
  MeshBackendRef,
  MeshDestination,
  MeshNode,
  MeshPeerAuthentication,
  MeshResourceType,
  MeshRoute,
  MeshRouteParent,
  MeshService,
  MeshTrafficPolicy,
  MeshWaypoint,
  PolicyScope,
  ServicePort,
  WaypointRef,
  Workload,
} from '../model/mesh.js';
import { BACKEND_INVALID_REASONS } from '../model/mesh.js';

const str = z.string();
const strings = z.array(str);
const labels = z.record(str, str);
const int = z.number().int();
const opt = <T extends z.ZodType>(t: T) => t.exactOptional();

const waypointRef: z.ZodType<WaypointRef> = z.object({ namespace: str, name: str });

const workload: z.ZodType<Workload> = z.object({
  uid: str.min(1),
  namespace: str,
  name: str,
  serviceAccount: str,
  identity: str,
  node: str,
  ips: strings,
  labels,
  enrolled: z.boolean(),
  ready: z.boolean(),
  terminating: z.boolean(),
  waypoint: opt(waypointRef),
  waypointFor: opt(waypointRef),
  cgroupPath: opt(str),
  qosClass: opt(z.enum(['Guaranteed', 'Burstable', 'BestEffort'])),
  workloadName: str,
  canonicalService: str,
  canonicalRevision: str,
  app: opt(str),
  version: opt(str),
});

const meshDestination: z.ZodType<MeshDestination> = z.object({ uid: str.min(1), ips: strings });

const node: z.ZodType<MeshNode> = z.object({ name: str.min(1), address: str, identity: str });

const servicePort: z.ZodType<ServicePort> = z.object({
  name: opt(str),
  port: int,
  targetPort: z.union([int, str]),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']),
  appProtocol: opt(str),
});

const endpoint: z.ZodType<Endpoint> = z.object({
  workloadUid: str,
  ip: str,
  node: str,
  ports: z.record(str, int),
  ready: z.boolean(),
  serving: z.boolean(),
  terminating: z.boolean(),
});

const service: z.ZodType<MeshService> = z.object({
  namespace: str,
  name: str,
  hostname: str,
  vips: strings,
  ports: z.array(servicePort),
  labels,
  endpoints: z.array(endpoint),
  waypoint: opt(waypointRef),
});

const waypoint: z.ZodType<MeshWaypoint> = z.object({
  namespace: str,
  name: str,
  for: z.enum(['service', 'workload', 'all', 'none']),
  identity: opt(str),
  instances: z.array(z.object({ workloadUid: str, ip: str, node: str, ready: z.boolean() })),
});

const optStrings = opt(strings);
const authzRule: z.ZodType<AuthzRule> = z.object({
  from: opt(
    z.array(
      z.object({
        source: z.object({
          principals: optStrings,
          notPrincipals: optStrings,
          requestPrincipals: optStrings,
          notRequestPrincipals: optStrings,
          namespaces: optStrings,
          notNamespaces: optStrings,
          ipBlocks: optStrings,
          notIpBlocks: optStrings,
          remoteIpBlocks: optStrings,
          notRemoteIpBlocks: optStrings,
        }),
      }),
    ),
  ),
  to: opt(
    z.array(
      z.object({
        operation: z.object({
          hosts: optStrings,
          notHosts: optStrings,
          ports: optStrings,
          notPorts: optStrings,
          methods: optStrings,
          notMethods: optStrings,
          paths: optStrings,
          notPaths: optStrings,
        }),
      }),
    ),
  ),
  when: opt(z.array(z.object({ key: str, values: optStrings, notValues: optStrings }))),
});

const policyScope: z.ZodType<PolicyScope> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('namespace') }),
  z.object({ kind: z.literal('selector'), matchLabels: labels }),
  z.object({
    kind: z.literal('targetRefs'),
    targetRefs: z.array(z.object({ group: str, kind: str, name: str })),
  }),
]);

const authorizationPolicy: z.ZodType<MeshAuthorizationPolicy> = z.object({
  namespace: str,
  name: str,
  scope: policyScope,
  action: z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']),
  rules: z.array(authzRule),
  meshWide: z.boolean(),
  enforcedBy: z.enum(['ztunnel', 'waypoint']),
});

const mtlsMode = z.enum(['UNSET', 'STRICT', 'PERMISSIVE', 'DISABLE']);
const peerAuthentication: z.ZodType<MeshPeerAuthentication> = z.object({
  namespace: str,
  name: str,
  selector: opt(labels),
  mode: mtlsMode,
  portLevelMtls: z.record(str, mtlsMode),
  meshWide: z.boolean(),
});

const routeParent: z.ZodType<MeshRouteParent> = z.object({
  kind: z.enum(['Service', 'Gateway']),
  namespace: str,
  name: str,
  port: opt(int),
  sectionName: opt(str),
});
const backendRef: z.ZodType<MeshBackendRef> = z.object({
  namespace: str,
  name: str,
  port: int,
  weight: int.min(0),
  filters: z.array(routeFilter),
  invalid: opt(z.enum(BACKEND_INVALID_REASONS)),
});
const ruleCommon = {
  name: opt(str),
  filters: z.array(routeFilter),
  backendRefs: z.array(backendRef),
  timeouts: opt(z.object({ requestMs: opt(int), backendRequestMs: opt(int) })),
  retry: opt(z.object({ attempts: opt(int), codes: opt(z.array(int)), backoffMs: opt(int) })),
};
const routeCommon = {
  namespace: str,
  name: str,
  creationTimestamp: opt(str),
  parents: z.array(routeParent),
  hostnames: strings,
};
const route: z.ZodType<MeshRoute> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('HTTPRoute'),
    ...routeCommon,
    rules: z.array(z.object({ ...ruleCommon, matches: z.array(httpRouteMatch) })),
  }),
  z.object({
    kind: z.literal('GRPCRoute'),
    ...routeCommon,
    rules: z.array(z.object({ ...ruleCommon, matches: z.array(grpcRouteMatch) })),
  }),
]);

const ms = opt(z.number().min(0));
const optInt = opt(int);
const percent = z.number().min(0).max(100);
const trafficPolicy: z.ZodType<MeshTrafficPolicy> = z.object({
  namespace: str,
  name: str,
  services: strings,
  loadBalancer: opt(z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH'])),
  consistentHash: opt(z.union([z.object({ header: str }), z.object({ cookie: str })])),
  retry: opt(
    z.object({
      attempts: int,
      perTryTimeoutMs: ms,
      retryOn: strings,
      retriableStatusCodes: z.array(int),
      baseIntervalMs: z.number().min(0),
      maxIntervalMs: z.number().min(0),
      retryNonIdempotent: z.boolean(),
    }),
  ),
  connectionPool: opt(
    z.object({
      tcp: opt(z.object({ maxConnections: optInt, connectTimeoutMs: ms, idleTimeoutMs: ms })),
      http: opt(
        z.object({
          http1MaxPendingRequests: optInt,
          http2MaxRequests: optInt,
          maxRequestsPerConnection: optInt,
          maxRetries: optInt,
          idleTimeoutMs: ms,
        }),
      ),
    }),
  ),
  outlierDetection: opt(
    z.object({
      consecutive5xxErrors: optInt,
      consecutiveGatewayErrors: optInt,
      intervalMs: ms,
      baseEjectionTimeMs: ms,
      maxEjectionPercent: opt(percent),
      minHealthPercent: opt(percent),
    }),
  ),
  retryBudget: opt(z.object({ percent, minRetryConcurrency: optInt })),
  fault: opt(
    z.object({
      delay: opt(z.object({ percent: opt(percent), fixedDelayMs: z.number().min(0) })),
      abort: opt(z.object({ percent: opt(percent), httpStatus: optInt, grpcStatus: opt(str) })),
    }),
  ),
});

/** The record type each wire type decodes to. */
export interface MeshRecordOf {
  workload: Workload;
  'mesh-destination': MeshDestination;
  node: MeshNode;
  service: MeshService;
  waypoint: MeshWaypoint;
  'authorization-policy': MeshAuthorizationPolicy;
  'peer-authentication': MeshPeerAuthentication;
  route: MeshRoute;
  'traffic-policy': MeshTrafficPolicy;
}
export type MeshRecord = MeshRecordOf[MeshResourceType];

/** The decoder of every record kind: adding a kind to MESH_RESOURCE_TYPES without one fails to compile. */
export const RECORD_DECODERS: { readonly [T in MeshResourceType]: z.ZodType<MeshRecordOf[T]> } = {
  workload,
  'mesh-destination': meshDestination,
  node,
  service,
  waypoint,
  'authorization-policy': authorizationPolicy,
  'peer-authentication': peerAuthentication,
  route,
  'traffic-policy': trafficPolicy,
};

export type RecordDecoding<T extends MeshResourceType> =
  { valid: true; record: MeshRecordOf[T] } | { valid: false; errors: string[] };

/**
 * Decodes one record's bytes. Every problem is reported, each as `<type> "<key>": <field path>:
 * <message>` (an empty path means the record as a whole).
 */
export function decodeRecord<T extends MeshResourceType>(
  type: T,
  key: string,
  bytes: Buffer | string,
): RecordDecoding<T> {
  const at = `${type} "${key}"`;
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    return { valid: false, errors: [`${at}: not JSON (${(err as Error).message})`] };
  }
  const parsed = RECORD_DECODERS[type].safeParse(json, { reportInput: true });
  if (!parsed.success)
    return {
      valid: false,
      errors: parsed.error.issues.map(
        (i) => `${at}: ${formatFieldPath(i.path) || '(record)'}: ${zodIssueMessage(i)}`,
      ),
    };
  return { valid: true, record: parsed.data };
}
