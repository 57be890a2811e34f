// Decides where an outbound connection goes, from (snapshot, connection facts) alone: HBONE to
// the destination pod's node, HBONE to a waypoint, plain TCP passthrough, or deny. Like
// istio/ztunnel's build_request(): no sockets here; outbound-proxy.ts carries the result out.
import type { MeshService, MeshWaypoint, ServicePort, Workload } from '../../core/model/mesh.js';
import { pickEndpoint, type LoadBalancerView, type Pick } from './endpoint-picker.js';
import { vipKey, type ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import { DEFAULT_TRAFFIC_SETTINGS } from '../state/traffic-policy.js';

export const HBONE_PORT = 15008;

export interface OutboundFacts {
  /** The node this ztunnel serves. */
  node: string;
  sourceIp: string;
  sourcePort: number;
  /** The original destination (recovered from the kernel, or given over SOCKS5). */
  destinationIp: string;
  destinationPort: number;
}

export type OutboundDenyReason =
  | 'unknown-source'
  | 'source-not-on-node'
  | 'no-ready-endpoint'
  | 'no-destination-node'
  | 'no-waypoint-instance'
  | 'waypoint-without-identity';

/** What the telemetry and headers need to know about the destination. */
export interface OutboundTarget {
  /** The pod that will receive the bytes (undefined when a waypoint decides it). */
  workload?: Workload;
  /** The Service the client dialled, when it dialled a VIP. */
  service?: MeshService;
  /** What the client dialled, `ip:port`. */
  dialled: { ip: string; port: number };
}

/** Round-robin / least-connections bookkeeping the caller applies. */
export interface OutboundLbChoice {
  serviceKey: string;
  nextCursor: number;
  endpoint: string;
}

/** How an HBONE tunnel is opened, to the destination pod's node or to a waypoint. */
interface HboneTunnelPlan {
  /**
   * CONNECT :authority: to a node, the pod IP and pod port; to a waypoint, what the client
   * dialled (VIP:port or pod IP:port).
   */
  authority: { ip: string; port: number };
  /** Where to open the mTLS connection: the destination node's ztunnel or a waypoint instance. */
  gateway: { ip: string; port: number };
  /** The SPIFFE ID the HBONE server must present. */
  serverIdentity: string;
  /** forwarded ;host= when a Service was the target. */
  forwardedHost?: string;
  lb?: OutboundLbChoice;
}

export type OutboundDecision =
  | ({
      kind: 'hbone';
      source: Workload;
      target: OutboundTarget & { workload: Workload };
    } & HboneTunnelPlan)
  | ({
      kind: 'waypoint';
      source: Workload;
      target: OutboundTarget;
      waypoint: MeshWaypoint;
    } & HboneTunnelPlan)
  | {
      kind: 'passthrough';
      source: Workload;
      target: OutboundTarget;
      address: { ip: string; port: number };
      lb?: OutboundLbChoice;
    }
  | { kind: 'deny'; reason: OutboundDenyReason; detail: string; source?: Workload; target?: OutboundTarget };

function servesService(w: MeshWaypoint): boolean {
  return w.for === 'service' || w.for === 'all';
}
function servesWorkload(w: MeshWaypoint): boolean {
  return w.for === 'workload' || w.for === 'all';
}

function targetPortOf(endpointPorts: Record<string, number>, port: ServicePort, dialled: number): number {
  const mapped = endpointPorts[String(port.port)];
  if (mapped !== undefined) return mapped;
  return typeof port.targetPort === 'number' ? port.targetPort : dialled;
}

function toWaypoint(
  snap: ZtunnelSnapshot,
  lb: LoadBalancerView,
  source: Workload,
  target: OutboundTarget,
  waypoint: MeshWaypoint,
  forwardedHost: string | undefined,
): OutboundDecision {
  const key = `${waypoint.namespace}/${waypoint.name}`;
  if (!waypoint.identity) {
    return {
      kind: 'deny',
      reason: 'waypoint-without-identity',
      detail: `waypoint ${key} has no identity yet`,
      source,
      target,
    };
  }
  const ready = waypoint.instances.filter((i) => i.ready);
  const serviceKey = `waypoint:${key}`;
  const pick = pickedFrom(
    ready,
    pickEndpoint(
      ready.map((i) => `${i.ip}:${HBONE_PORT}`),
      'ROUND_ROBIN',
      lb.cursor(serviceKey),
      (e) => lb.active(e),
    ),
  );
  if (!pick) {
    return {
      kind: 'deny',
      reason: 'no-waypoint-instance',
      detail: `waypoint ${key} has no ready instance`,
      source,
      target,
    };
  }
  const inst = pick.item;
  return {
    kind: 'waypoint',
    source,
    target,
    waypoint,
    authority: target.dialled,
    gateway: { ip: inst.ip, port: HBONE_PORT },
    serverIdentity: waypoint.identity,
    ...(forwardedHost ? { forwardedHost } : {}),
    lb: { serviceKey, nextCursor: pick.nextCursor, endpoint: `${inst.ip}:${HBONE_PORT}` },
  };
}

/** The element of `items` a pick over candidates built from them (same order) chose. */
function pickedFrom<T>(items: readonly T[], pick: Pick | undefined): (Pick & { item: T }) | undefined {
  if (!pick) return undefined;
  const item = items[pick.index];
  return item === undefined ? undefined : { ...pick, item };
}

function toWorkload(
  snap: ZtunnelSnapshot,
  source: Workload,
  target: OutboundTarget,
  workload: Workload,
  ip: string,
  port: number,
  forwardedHost: string | undefined,
  lbStep: OutboundLbChoice | undefined,
): OutboundDecision {
  const lb = lbStep ? { lb: lbStep } : {};
  const t = { ...target, workload };
  if (!workload.enrolled) return { kind: 'passthrough', source, target: t, address: { ip, port }, ...lb };
  const node = snap.nodeByName.get(workload.node);
  if (!node) {
    return {
      kind: 'deny',
      reason: 'no-destination-node',
      detail: `node ${workload.node} of ${workload.namespace}/${workload.name} is not in the mesh state`,
      source,
      target: t,
    };
  }
  return {
    kind: 'hbone',
    source,
    target: t,
    authority: { ip, port },
    gateway: { ip: node.address, port: HBONE_PORT },
    serverIdentity: node.identity,
    ...(forwardedHost ? { forwardedHost } : {}),
    ...lb,
  };
}

export function decideOutbound(
  snap: ZtunnelSnapshot,
  facts: OutboundFacts,
  lb: LoadBalancerView,
): OutboundDecision {
  const source = snap.workloadByIp.get(facts.sourceIp);
  if (!source || !source.enrolled) {
    return {
      kind: 'deny',
      reason: 'unknown-source',
      detail: `no enrolled workload has IP ${facts.sourceIp}`,
    };
  }
  if (source.node !== facts.node) {
    return {
      kind: 'deny',
      reason: 'source-not-on-node',
      detail: `${source.namespace}/${source.name} runs on ${source.node}, not ${facts.node}`,
      source,
    };
  }
  const dialled = { ip: facts.destinationIp, port: facts.destinationPort };

  const svc = snap.serviceByVipPort.get(vipKey(facts.destinationIp, facts.destinationPort));
  if (svc) {
    const { service, port } = svc;
    const target: OutboundTarget = { service, dialled };
    const wp = service.waypoint
      ? snap.waypointByKey.get(`${service.waypoint.namespace}/${service.waypoint.name}`)
      : undefined;
    if (wp && servesService(wp) && !sameWorkload(source, wp)) {
      return toWaypoint(snap, lb, source, target, wp, service.hostname);
    }
    const ready = service.endpoints.filter((e) => e.ready && !e.terminating);
    const serviceKey = `${service.namespace}/${service.name}`;
    const settings = snap.trafficByService.get(serviceKey) ?? DEFAULT_TRAFFIC_SETTINGS;
    const addrs = ready.map((e) => `${e.ip}:${targetPortOf(e.ports, port, facts.destinationPort)}`);
    const pick = pickedFrom(
      ready,
      pickEndpoint(addrs, settings.loadBalancer, lb.cursor(serviceKey), (e) => lb.active(e)),
    );
    if (!pick) {
      return {
        kind: 'deny',
        reason: 'no-ready-endpoint',
        detail: `service ${serviceKey} has no ready endpoint for port ${port.port}`,
        source,
        target,
      };
    }
    const ep = pick.item;
    const podPort = targetPortOf(ep.ports, port, facts.destinationPort);
    // the same `ip:port` as the picked candidate in addrs
    const lbStep = { serviceKey, nextCursor: pick.nextCursor, endpoint: `${ep.ip}:${podPort}` };
    const workload = snap.workloadByUid.get(ep.workloadUid);
    if (!workload) {
      // An endpoint without a pod we know (external, or not yet seen): plain TCP.
      return { kind: 'passthrough', source, target, address: { ip: ep.ip, port: podPort }, lb: lbStep };
    }
    return toWorkload(snap, source, target, workload, ep.ip, podPort, service.hostname, lbStep);
  }

  const workload = snap.workloadByIp.get(facts.destinationIp);
  if (workload) {
    const target: OutboundTarget = { workload, dialled };
    const wp = workload.waypoint
      ? snap.waypointByKey.get(`${workload.waypoint.namespace}/${workload.waypoint.name}`)
      : undefined;
    if (wp && servesWorkload(wp) && !sameWorkload(source, wp))
      return toWaypoint(snap, lb, source, target, wp, undefined);
    return toWorkload(
      snap,
      source,
      target,
      workload,
      facts.destinationIp,
      facts.destinationPort,
      undefined,
      undefined,
    );
  }
  return { kind: 'passthrough', source, target: { dialled }, address: dialled };
}

function sameWorkload(source: Workload, wp: MeshWaypoint): boolean {
  return wp.instances.some((i) => i.workloadUid === source.uid);
}
