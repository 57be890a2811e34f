// Builders for small MeshStates used by the ztunnel's unit tests and benches: two nodes, a few
// workloads and services, with every field filled the way the controller fills it. Test data
// only; nothing on the data path imports this.
import {
  emptyMeshState,
  type Endpoint,
  type MeshAuthorizationPolicy,
  type MeshNode,
  type MeshService,
  type MeshState,
  type MeshWaypoint,
  type Workload,
} from '../../core/model/mesh.js';

export const TD = 'cluster.local';

export function node(name: string, address: string): MeshNode {
  return { name, address, identity: `spiffe://${TD}/ambit/node/${name}` };
}

export function workload(p: Partial<Workload> & { name: string; ip: string; node: string }): Workload {
  const ns = p.namespace ?? 'default';
  const sa = p.serviceAccount ?? p.name;
  return {
    uid: p.uid ?? `uid-${ns}-${p.name}`,
    namespace: ns,
    name: p.name,
    serviceAccount: sa,
    identity: p.identity ?? `spiffe://${TD}/ns/${ns}/sa/${sa}`,
    node: p.node,
    ips: p.ips ?? [p.ip],
    labels: p.labels ?? { app: p.name },
    enrolled: p.enrolled ?? true,
    ready: p.ready ?? true,
    terminating: p.terminating ?? false,
    workloadName: p.workloadName ?? p.name,
    canonicalService: p.canonicalService ?? p.name,
    canonicalRevision: p.canonicalRevision ?? 'latest',
    ...(p.app ? { app: p.app } : {}),
    ...(p.version ? { version: p.version } : {}),
    ...(p.waypoint ? { waypoint: p.waypoint } : {}),
    ...(p.waypointFor ? { waypointFor: p.waypointFor } : {}),
  };
}

export function endpoint(
  w: Workload,
  ports: Record<string, number>,
  extra: Partial<Endpoint> = {},
): Endpoint {
  const [ip] = w.ips;
  if (ip === undefined)
    throw new Error(`fixture workload ${w.namespace}/${w.name} has no IP for an endpoint`);
  return {
    workloadUid: w.uid,
    ip,
    node: w.node,
    ports,
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  };
}

export function service(
  p: Partial<MeshService> & { name: string; vip: string; port: number; targetPort?: number | string },
): MeshService {
  const ns = p.namespace ?? 'default';
  return {
    namespace: ns,
    name: p.name,
    hostname: `${p.name}.${ns}.svc.cluster.local`,
    vips: p.vips ?? [p.vip],
    ports: p.ports ?? [{ port: p.port, targetPort: p.targetPort ?? p.port, protocol: 'TCP' }],
    labels: p.labels ?? {},
    endpoints: p.endpoints ?? [],
    ...(p.waypoint ? { waypoint: p.waypoint } : {}),
  };
}

export function waypoint(
  p: Partial<MeshWaypoint> & { name: string; instances: MeshWaypoint['instances'] },
): MeshWaypoint {
  const ns = p.namespace ?? 'default';
  return {
    namespace: ns,
    name: p.name,
    for: p.for ?? 'service',
    ...('identity' in p
      ? p.identity
        ? { identity: p.identity }
        : {}
      : { identity: `spiffe://${TD}/ns/${ns}/sa/${p.name}` }),
    instances: p.instances,
  };
}

export function policy(p: Partial<MeshAuthorizationPolicy> & { name: string }): MeshAuthorizationPolicy {
  return {
    namespace: p.namespace ?? 'default',
    name: p.name,
    scope: p.scope ?? { kind: 'namespace' },
    action: p.action ?? 'ALLOW',
    rules: p.rules ?? [],
    meshWide: p.meshWide ?? false,
    enforcedBy: p.enforcedBy ?? 'ztunnel',
  };
}

export function meshState(p: Partial<MeshState>): MeshState {
  return { ...emptyMeshState(TD), ...p };
}
