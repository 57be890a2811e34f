// The ztunnel's own view of the mesh: the controller's MeshState converted once into lookup
// indexes (workload by IP, service by VIP:port, node and waypoint by name, traffic settings).
// Built before the swap, immutable after; a connection reads one snapshot and keeps it.
import type {
  MeshNode,
  MeshService,
  MeshState,
  MeshWaypoint,
  ServicePort,
  Workload,
} from '../../core/model/mesh.js';
import { trafficSettingsByService, type ServiceTrafficSettings } from './traffic-policy.js';

export interface ServiceAtPort {
  service: MeshService;
  port: ServicePort;
}

export interface ZtunnelSnapshot {
  readonly version: string;
  readonly state: MeshState;
  readonly trustDomain: string;
  readonly workloadByIp: ReadonlyMap<string, Workload>;
  readonly workloadByUid: ReadonlyMap<string, Workload>;
  readonly nodeByName: ReadonlyMap<string, MeshNode>;
  /** key `${vip}:${port}` (IPv6 VIPs unbracketed: `${vip}:${port}` splits at the last colon). */
  readonly serviceByVipPort: ReadonlyMap<string, ServiceAtPort>;
  readonly serviceByHostname: ReadonlyMap<string, MeshService>;
  /** Services whose endpoints include the workload (by uid). */
  readonly servicesByWorkloadUid: ReadonlyMap<string, readonly MeshService[]>;
  /** key `<ns>/<name>` */
  readonly waypointByKey: ReadonlyMap<string, MeshWaypoint>;
  /** key `<ns>/<name>` of a Service */
  readonly trafficByService: ReadonlyMap<string, ServiceTrafficSettings>;
}

export function vipKey(ip: string, port: number): string {
  return `${ip}:${port}`;
}

export function buildSnapshot(state: MeshState, version: string): ZtunnelSnapshot {
  const workloadByIp = new Map<string, Workload>();
  const workloadByUid = new Map<string, Workload>();
  for (const w of state.workloads) {
    workloadByUid.set(w.uid, w);
    for (const ip of w.ips) {
      // Two records claiming one IP (a pod being replaced): prefer the live, ready one.
      const prev = workloadByIp.get(ip);
      if (!prev || (prev.terminating && !w.terminating) || (!prev.ready && w.ready)) workloadByIp.set(ip, w);
    }
  }
  const serviceByVipPort = new Map<string, ServiceAtPort>();
  const serviceByHostname = new Map<string, MeshService>();
  const servicesByWorkloadUid = new Map<string, MeshService[]>();
  for (const s of state.services) {
    serviceByHostname.set(s.hostname, s);
    for (const vip of s.vips)
      for (const port of s.ports) serviceByVipPort.set(vipKey(vip, port.port), { service: s, port });
    for (const e of s.endpoints) {
      const list = servicesByWorkloadUid.get(e.workloadUid) ?? [];
      if (!list.includes(s)) list.push(s);
      servicesByWorkloadUid.set(e.workloadUid, list);
    }
  }
  return {
    version,
    state,
    trustDomain: state.trustDomain,
    workloadByIp,
    workloadByUid,
    nodeByName: new Map(state.nodes.map((n) => [n.name, n])),
    serviceByVipPort,
    serviceByHostname,
    servicesByWorkloadUid,
    waypointByKey: new Map(state.waypoints.map((w) => [`${w.namespace}/${w.name}`, w])),
    trafficByService: trafficSettingsByService(state.trafficPolicies),
  };
}
