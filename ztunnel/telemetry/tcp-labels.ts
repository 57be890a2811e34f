// Istio ztunnel's TCP metric labels (DESIGN §7), built from what one connection knows: the source
// and destination workloads (from discovery), the Service the client targeted, the principals
// (destination's from discovery at the source, source's from the peer certificate at the
// destination), and response flags. Missing values are `unknown`. Pure.
import type { MeshService, Workload } from '../../core/model/mesh.js';

export const TCP_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TcpLabelName = (typeof TCP_LABEL_NAMES)[number];
export type TcpLabels = Record<TcpLabelName, string>;

export type ResponseFlag =
  '-' | 'DENY' | 'CONNECT' | 'TLS_FAILURE' | 'UNKNOWN_SOURCE' | 'NO_HEALTHY_UPSTREAM' | 'IDLE_TIMEOUT';

export interface TcpLabelInput {
  reporter: 'source' | 'destination';
  source?: Workload;
  sourcePrincipal?: string;
  destination?: Workload;
  destinationPrincipal?: string;
  service?: MeshService;
  /** When a connection went to an address not known to the mesh: `ip:port` as destination_service. */
  destinationAddress?: string;
  responseFlags: ResponseFlag;
  mtls: boolean;
  cluster?: string;
}

const U = 'unknown';

export function tcpLabels(i: TcpLabelInput): TcpLabels {
  const s = i.source;
  const d = i.destination;
  const cluster = i.cluster ?? 'Kubernetes';
  return {
    reporter: i.reporter,
    source_workload: s?.workloadName ?? U,
    source_canonical_service: s?.canonicalService ?? U,
    source_canonical_revision: s?.canonicalRevision ?? U,
    source_workload_namespace: s?.namespace ?? U,
    source_principal: i.sourcePrincipal ?? U,
    source_app: s?.app ?? U,
    source_version: s?.version ?? U,
    source_cluster: s ? cluster : U,
    destination_service: i.service?.hostname ?? i.destinationAddress ?? U,
    destination_service_namespace: i.service?.namespace ?? U,
    destination_service_name: i.service?.name ?? U,
    destination_workload: d?.workloadName ?? U,
    destination_canonical_service: d?.canonicalService ?? U,
    destination_canonical_revision: d?.canonicalRevision ?? U,
    destination_workload_namespace: d?.namespace ?? U,
    destination_principal: i.destinationPrincipal ?? U,
    destination_app: d?.app ?? U,
    destination_version: d?.version ?? U,
    destination_cluster: d ? cluster : U,
    request_protocol: 'tcp',
    response_flags: i.responseFlags,
    connection_security_policy: i.mtls ? 'mutual_tls' : U,
  };
}
