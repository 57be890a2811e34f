// The waypoint's view of the mesh (core/discovery/view-for.ts, kind waypoint) converted once per
// push into lookup tables for the request path: which Service a tunnel's :authority names (VIP and
// port) or which pod (pod IP), each Service's ready endpoints and their nodes, the route table of
// a Service port (built on first use and kept for this snapshot), its TrafficPolicy, and the L7
// policies. Immutable: a config change makes a new snapshot, requests in flight keep theirs.
import type {
  Endpoint,
  MeshAuthorizationPolicy,
  MeshNode,
  MeshService,
  MeshState,
  MeshTrafficPolicy,
  MeshWaypoint,
  ServicePort,
  Workload,
} from '../../core/model/mesh.js';
import { buildRouteTable, type RouteTable } from '../routing/route-table.js';

/** What a tunnel addressed: a Service port (by VIP) or one pod (by its IP). */
export type TunnelTarget =
  | { kind: 'service'; service: MeshService; port: ServicePort }
  | { kind: 'workload'; workload: Workload; port: number };

export interface WaypointSnapshot {
  version: string;
  trustDomain: string;
  self: MeshWaypoint | undefined;
  /** `ip:port` of a VIP -> the Service port */
  serviceByVip: Map<string, { service: MeshService; port: ServicePort }>;
  serviceByKey: Map<string, MeshService>;
  /** pod IP -> workload */
  workloadByIp: Map<string, Workload>;
  workloadByUid: Map<string, Workload>;
  nodeByName: Map<string, MeshNode>;
  trafficPolicyByService: Map<string, MeshTrafficPolicy>;
  authorizationPolicies: readonly MeshAuthorizationPolicy[];
  /** The route table of a Service port, built on first use. */
  routeTable(service: MeshService, port: number): RouteTable;
  /** A Service port's endpoints that take new requests, with their pod ports; built on first use. */
  endpointsOf(service: MeshService, port: ServicePort): UsableEndpoints;
}

/** One endpoint a request may go to: `key` is `ip:port`, what balancers and outlier detection count by. */
export interface UsableEndpoint {
  endpoint: Endpoint;
  key: string;
  port: number;
}

export interface UsableEndpoints {
  entries: readonly UsableEndpoint[];
  keys: readonly string[];
}

export const serviceKey = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

export function buildWaypointSnapshot(state: MeshState, version: string, name: string): WaypointSnapshot {
  const serviceByVip = new Map<string, { service: MeshService; port: ServicePort }>();
  const serviceByKey = new Map<string, MeshService>();
  for (const s of state.services) {
    serviceByKey.set(serviceKey(s), s);
    for (const vip of s.vips)
      for (const p of s.ports) serviceByVip.set(`${vip}:${p.port}`, { service: s, port: p });
  }
  const workloadByIp = new Map<string, Workload>();
  const workloadByUid = new Map<string, Workload>();
  for (const w of state.workloads) {
    workloadByUid.set(w.uid, w);
    for (const ip of w.ips) workloadByIp.set(ip, w);
  }
  const trafficPolicyByService = new Map<string, MeshTrafficPolicy>();
  // oldest-first is not known here; the lexically first policy per Service wins, deterministically
  for (const p of [...state.trafficPolicies].sort((a, b) => serviceKey(a).localeCompare(serviceKey(b))))
    for (const s of p.services) if (!trafficPolicyByService.has(s)) trafficPolicyByService.set(s, p);
  const tables = new Map<string, RouteTable>();
  const usable = new Map<string, UsableEndpoints>();
  return {
    version,
    trustDomain: state.trustDomain,
    self: state.waypoints.find((w) => serviceKey(w) === name),
    serviceByVip,
    serviceByKey,
    workloadByIp,
    workloadByUid,
    nodeByName: new Map(state.nodes.map((n) => [n.name, n])),
    trafficPolicyByService,
    authorizationPolicies: state.authorizationPolicies,
    routeTable(service, port) {
      const k = `${serviceKey(service)}:${port}`;
      let t = tables.get(k);
      if (!t) {
        t = buildRouteTable(state.routes, service, port);
        tables.set(k, t);
      }
      return t;
    },
    endpointsOf(service, port) {
      const k = `${serviceKey(service)}:${port.port}`;
      let u = usable.get(k);
      if (!u) {
        const entries = usableEndpoints(service).flatMap((e) => {
          const p = endpointPort(e, port);
          return p === undefined ? [] : [{ endpoint: e, key: `${e.ip}:${p}`, port: p }];
        });
        u = { entries, keys: entries.map((x) => x.key) };
        usable.set(k, u);
      }
      return u;
    },
  };
}

/** The Service port or pod a tunnel's :authority names, if this waypoint knows it. */
export function resolveTarget(snap: WaypointSnapshot, ip: string, port: number): TunnelTarget | undefined {
  const svc = snap.serviceByVip.get(`${ip}:${port}`);
  if (svc) return { kind: 'service', service: svc.service, port: svc.port };
  const w = snap.workloadByIp.get(ip);
  if (w) return { kind: 'workload', workload: w, port };
  return undefined;
}

/** The pod port of an endpoint for a Service port (numeric targetPort, or the endpoint's named port). */
function endpointPort(e: Endpoint, port: ServicePort): number | undefined {
  const mapped = e.ports[String(port.port)];
  if (mapped !== undefined) return mapped;
  return typeof port.targetPort === 'number' ? port.targetPort : undefined;
}

/** Endpoints that may take new requests: ready and not terminating. */
function usableEndpoints(s: MeshService): Endpoint[] {
  return s.endpoints.filter((e) => e.ready && !e.terminating);
}
