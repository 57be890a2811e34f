// Istio's request metric labels at the waypoint (DESIGN §7): the ztunnel's TCP label set with
// reporter "waypoint", plus response_code and grpc_response_status. The source side comes from
// the HBONE `baggage` header the source ztunnel sends and the client's peer certificate; the
// destination side from discovery (the Service and the endpoint's Workload). Missing values are
// `unknown`, as Istio's. Pure; names no metric (waypoint-metrics.ts does).
import type { MeshService, Workload } from '../../core/model/mesh.js';
import { parseSpiffeId } from '../../core/identity/spiffe.js';
import { parseBaggage as parseBaggageRecord } from '../../ztunnel/hbone/hbone-headers.js';
import { TCP_LABEL_NAMES, tcpLabels } from '../../ztunnel/telemetry/tcp-labels.js';

export const REQUEST_LABEL_NAMES = [...TCP_LABEL_NAMES, 'response_code', 'grpc_response_status'] as const;
export type RequestLabelName = (typeof REQUEST_LABEL_NAMES)[number];
export type RequestLabels = Record<RequestLabelName, string>;

export interface RequestSource {
  /** The client's SPIFFE ID from its HBONE certificate. */
  principal?: string;
  workload?: string;
  namespace?: string;
  app?: string;
  version?: string;
  canonicalService?: string;
  canonicalRevision?: string;
}

export interface RequestLabelInput {
  source: RequestSource;
  destination: { service?: MeshService; workload?: Workload; principal?: string };
  protocol: 'http' | 'grpc';
  /** HTTP status sent to the client; 0 when none was (the stream was reset). */
  responseCode: number;
  /** gRPC status code as a decimal string ("0", "14"); absent for plain HTTP. */
  grpcStatus?: string;
  /** Envoy-style response flags (`-`, `UH`, `UF`, `URX`, `UT`, `UO`, `DC`, `RBAC`...). */
  flags: string;
}

const U = 'unknown';

/**
 * W3C baggage (`k=v,k2=v2;prop`) as a Map, values percent-decoded; malformed members skipped.
 * The parse is the ztunnel's (hbone-headers.ts, the side that writes the header), not a copy.
 */
export function parseBaggage(h: string): Map<string, string> {
  return new Map(Object.entries(parseBaggageRecord(h)));
}

/** The baggage keys that name the source workload: `k8s.<kind>.name` for a workload kind. */
const WORKLOAD_KEY = /^k8s\.(deployment|pod|statefulset|daemonset|replicaset|job|cronjob)\.name$/;

/**
 * The source as the waypoint knows it: the peer principal, and what the source ztunnel's baggage
 * says (k8s.namespace.name, k8s.<kind>.name, service.name, service.version; app.name/app.version
 * when present). The namespace in the principal wins over the baggage's, as in Istio.
 */
export function sourceFromBaggage(baggage: string | undefined, principal?: string): RequestSource {
  const b = parseBaggage(baggage ?? '');
  const out: RequestSource = {};
  if (principal) out.principal = principal;
  const id = principal ? parseSpiffeId(principal) : undefined;
  const ns = id?.kind === 'workload' ? id.namespace : b.get('k8s.namespace.name');
  if (ns) out.namespace = ns;
  for (const [k, v] of b) if (v && WORKLOAD_KEY.test(k)) out.workload = v;
  const set = (field: Exclude<keyof RequestSource, 'principal' | 'namespace' | 'workload'>, key: string) => {
    const v = b.get(key);
    if (v) out[field] = v;
  };
  set('canonicalService', 'service.name');
  set('canonicalRevision', 'service.version');
  set('app', 'app.name');
  set('version', 'app.version');
  return out;
}

export function requestLabels(i: RequestLabelInput): RequestLabels {
  const s = i.source;
  const d = tcpLabels({
    reporter: 'destination',
    ...(i.destination.workload ? { destination: i.destination.workload } : {}),
    ...(i.destination.principal ? { destinationPrincipal: i.destination.principal } : {}),
    ...(i.destination.service ? { service: i.destination.service } : {}),
    responseFlags: '-',
    mtls: s.principal !== undefined,
  });
  return {
    ...d,
    reporter: 'waypoint',
    source_workload: s.workload ?? U,
    source_canonical_service: s.canonicalService ?? U,
    source_canonical_revision: s.canonicalRevision ?? U,
    source_workload_namespace: s.namespace ?? U,
    source_principal: s.principal ?? U,
    source_app: s.app ?? U,
    source_version: s.version ?? U,
    source_cluster: s.namespace !== undefined ? 'Kubernetes' : U,
    request_protocol: i.protocol,
    response_flags: i.flags || '-',
    response_code: String(i.responseCode),
    // Istio leaves it empty for plain HTTP (its dashboards filter on it only for gRPC).
    grpc_response_status: i.grpcStatus ?? (i.protocol === 'grpc' ? U : ''),
  };
}
