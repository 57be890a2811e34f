// What each discovery subscriber receives: one pure viewFor(subscriber, state) that cuts the
// controller's whole MeshState down to the records that subscriber's decisions read. Records are
// passed through as the same objects (or, for the agent's Services and mesh destinations, one
// memoised projection per object), so their wire encoding, cached by object, is shared by every
// view that holds them. viewFor of a view is that view again (an agent fed a whole state from a
// file and one fed its view reconcile alike). It decides nothing about transport; the controller
// caches one view per viewCacheKey().
import type { MeshDestination, MeshService, MeshState, Workload } from '../model/mesh.js';

export type MeshSubscriber =
  | { kind: 'agent'; node: string }
  | { kind: 'ztunnel'; node: string }
  /** name: `<namespace>/<gateway>` of the waypoint Gateway. */
  | { kind: 'waypoint'; name: string };

/**
 * Subscribers with equal keys get equal views, so the controller builds and encodes one view per
 * key. The ztunnel view does not depend on the node (a ztunnel may be asked for any destination),
 * so all ztunnels share one view; an agent's view holds its own node's workloads, so there is one
 * per node (their records, and so their encodings, are still shared). Keep this in step with
 * viewFor: the table test checks it.
 */
export function viewCacheKey(s: MeshSubscriber): string {
  switch (s.kind) {
    case 'agent':
      return `agent|${s.node}`;
    case 'ztunnel':
      return s.kind;
    case 'waypoint':
      return `waypoint|${s.name}`;
    default: {
      const never: never = s;
      throw new Error(`unknown subscriber ${JSON.stringify(never)}`);
    }
  }
}

export function viewFor(s: MeshSubscriber, state: MeshState): MeshState {
  switch (s.kind) {
    case 'agent':
      return agentView(s.node, state);
    case 'ztunnel':
      return ztunnelView(state);
    case 'waypoint':
      return waypointView(s.name, state);
    default: {
      const never: never = s;
      throw new Error(`unknown subscriber ${JSON.stringify(never)}`);
    }
  }
}

const none = <T>(): T[] => [];

const addressOnly = new WeakMap<MeshService, MeshService>();

/** A Service as the agent reads it: VIPs and ports, no endpoints. One projection per record object. */
function serviceAddress(s: MeshService): MeshService {
  let p = addressOnly.get(s);
  if (!p) {
    p = s.endpoints.length === 0 ? s : { ...s, endpoints: [] };
    addressOnly.set(s, p);
  }
  return p;
}

const destinationOf = new WeakMap<Workload, MeshDestination>();

/** A workload as another node's agent reads it: its IPs. One projection per record object. */
function destination(w: Workload): MeshDestination {
  let d = destinationOf.get(w);
  if (!d) {
    d = { uid: w.uid, ips: w.ips };
    destinationOf.set(w, d);
  }
  return d;
}

const byUid = (a: { uid: string }, b: { uid: string }): number =>
  a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0;

/**
 * The agent (agent/reconcile.ts, node-agent.ts) reads: its own node's workloads (cgroups, uid, IPs,
 * labels and namespace for the STRICT mode of the enrolled ones; the others so the pod start gate
 * can answer "not enrolled"), the IPs of every other enrolled workload (mesh destinations in the
 * kernel map: only those, as MeshDestination records), every Service's VIPs and TCP ports, and the
 * PeerAuthentications. Other nodes' workloads that are not enrolled, Service endpoints, nodes,
 * waypoints, authorization policies, routes and traffic policies it never reads.
 * A view's own destinations are kept, so viewFor of an agent view is that view.
 */
function agentView(node: string, state: MeshState): MeshState {
  const own: Workload[] = [];
  const others: MeshDestination[] = [];
  for (const w of state.workloads) {
    // its own node's pods whether enrolled or not: the pod start gate (agent/pod-gate.ts) must
    // tell a pod that stays out of the mesh from one it has not heard of yet
    if (w.node === node) own.push(w);
    else if (w.enrolled) others.push(destination(w));
  }
  const meshDestinations =
    state.meshDestinations.length === 0
      ? others
      : others.length === 0
        ? state.meshDestinations
        : [...state.meshDestinations, ...others].sort(byUid);
  return {
    trustDomain: state.trustDomain,
    workloads: own,
    meshDestinations,
    nodes: none(),
    services: state.services.map(serviceAddress),
    waypoints: none(),
    authorizationPolicies: none(),
    peerAuthentications: state.peerAuthentications,
    routes: none(),
    trafficPolicies: none(),
  };
}

/**
 * The ztunnel's outbound decision (decide-outbound.ts) may be asked for any destination in the
 * mesh: it reads every workload (by IP and uid, enrolled or not: a pod outside the mesh is dialled
 * directly), every Service with its endpoints, every node (where to send HBONE), every waypoint
 * and the TrafficPolicies (load balancing, idle timeout). Its inbound decision (decide-inbound.ts,
 * policy/authorize.ts) reads the PeerAuthentications and the authorization policies a ztunnel
 * enforces. What it never reads: routes, and policies enforced by waypoints.
 */
function ztunnelView(state: MeshState): MeshState {
  return {
    ...state,
    meshDestinations: none(),
    authorizationPolicies: state.authorizationPolicies.filter((p) => p.enforcedBy === 'ztunnel'),
    routes: none(),
  };
}

const key = (r: { namespace: string; name: string }): string => `${r.namespace}/${r.name}`;

/**
 * A waypoint serves the Services and workloads that use it. It reads: its own record (instances,
 * identity), those Services, the routes attached to them and every Service a route sends to or
 * mirrors to (backends need not use the waypoint), the endpoints' workloads and the workloads
 * that use it directly (identity for the second HBONE hop and telemetry), the nodes they run on
 * (where their ztunnel listens and the identity it must present), the authorization policies it
 * enforces (targetRefs to its Gateway, its GatewayClass or one of its Services), and the
 * TrafficPolicies of the Services it may send to.
 */
function waypointView(name: string, state: MeshState): MeshState {
  const self = state.waypoints.filter((w) => key(w) === name);
  const uses = (ref: { namespace: string; name: string } | undefined): boolean =>
    ref !== undefined && key(ref) === name;
  const served = new Set(state.services.filter((s) => uses(s.waypoint)).map(key));
  const routes = state.routes.filter((r) =>
    r.parents.some((p) => p.kind === 'Service' && served.has(key(p))),
  );
  const reachable = new Set(served);
  for (const r of routes)
    for (const rule of r.rules) {
      for (const b of rule.backendRefs) {
        reachable.add(key(b));
        for (const f of b.filters)
          if (f.requestMirror) reachable.add(mirrorKey(f.requestMirror, r.namespace));
      }
      for (const f of rule.filters)
        if (f.requestMirror) reachable.add(mirrorKey(f.requestMirror, r.namespace));
    }
  const services = state.services.filter((s) => reachable.has(key(s)));
  const uids = new Set<string>();
  for (const s of services) for (const e of s.endpoints) uids.add(e.workloadUid);
  for (const w of self) for (const i of w.instances) uids.add(i.workloadUid);
  const workloads = state.workloads.filter((w: Workload) => uids.has(w.uid) || uses(w.waypoint));
  const nodeNames = new Set(workloads.map((w) => w.node));
  for (const s of services) for (const e of s.endpoints) nodeNames.add(e.node);
  const [namespace] = name.split('/');
  return {
    trustDomain: state.trustDomain,
    workloads,
    meshDestinations: none(),
    nodes: state.nodes.filter((n) => nodeNames.has(n.name)),
    services,
    waypoints: self,
    authorizationPolicies: state.authorizationPolicies.filter(
      (p) =>
        p.enforcedBy === 'waypoint' &&
        p.scope.kind === 'targetRefs' &&
        p.scope.targetRefs.some(
          (t) =>
            (t.kind === 'GatewayClass' && t.name === 'ambit-waypoint') ||
            (t.kind === 'Gateway' && `${p.namespace}/${t.name}` === name && p.namespace === namespace) ||
            (t.kind === 'Service' && served.has(`${p.namespace}/${t.name}`)),
        ),
    ),
    peerAuthentications: none(),
    routes,
    trafficPolicies: state.trafficPolicies.filter((t) => t.services.some((k) => reachable.has(k))),
  };
}

function mirrorKey(
  m: { backendRef: { name: string; namespace?: string | undefined } },
  routeNs: string,
): string {
  return `${m.backendRef.namespace ?? routeNs}/${m.backendRef.name}`;
}
