// What the leader wants each route's and waypoint Gateway's status to say, from the same pure
// functions `ambit status` shows (route-status.ts), for the parts this controller owns:
// - a route's `status.parents` entries for the parents we implement: a Service (GAMMA; Ambit is
//   the mesh) or a Gateway of class ambit-waypoint. A parent Gateway of another class, or one that
//   does not exist, is not ours to report on (its class's controller does), so we write nothing
//   for it;
// - a waypoint Gateway's Accepted and Programmed conditions and its address (the waypoint
//   Service's ClusterIP, the Service the controller makes with the Gateway's name).
//
// Programmed in a cluster: several controller replicas each hold only the discovery streams of the
// instances that dialled them, so the leader's own subscriptions say little. It decides from the
// waypoint pods' readiness in the mesh state instead: a waypoint pod's readiness probe (15021)
// passes only once it holds config from a controller (waypoint.ts ready()), and ztunnels send only
// to ready instances, so "some pod Ready" is exactly "it can take traffic". This replica's own
// streams add one thing: when every one it holds NACKed, no pod is ready and the reason is Invalid.
// Pure: no I/O, no clock.
import type { MeshState, MeshWaypoint } from '../../core/model/mesh.js';
import type { ConfigResources } from '../../core/model/validate-config.js';
import { WAYPOINT_CLASS } from '../../core/model/resources/gateway.js';
import { GATEWAY_GROUP, type ResolvedParentRef } from '../../core/model/route-problems.js';
import { routeStatuses } from '../route-status.js';
import { condition, generationOf, type StatusCondition } from '../status-condition.js';
import type { SubscriberRecord } from '../subscriber-session.js';

/** The GatewayClass ambit-waypoint's controllerName (deploy/daemonset/gatewayclass.yaml). */
export const WAYPOINT_CONTROLLER_NAME = 'ambit.dev/waypoint-controller';

export interface RouteParentTarget {
  parentRef: ResolvedParentRef;
  controllerName: string;
  conditions: StatusCondition[];
}

export interface RouteTarget {
  kind: 'HTTPRoute' | 'GRPCRoute';
  namespace: string;
  name: string;
  uid?: string | undefined;
  /** Our entries only; an empty list removes entries we wrote before (the parentRef went away). */
  parents: RouteParentTarget[];
}

export interface GatewayAddress {
  type: 'IPAddress';
  value: string;
}

export interface GatewayTarget {
  kind: 'Gateway';
  namespace: string;
  name: string;
  uid?: string | undefined;
  conditions: StatusCondition[];
  /** The waypoint Service's ClusterIPs; empty when it has none yet. */
  addresses: GatewayAddress[];
}

export type StatusTarget = RouteTarget | GatewayTarget;

export const targetKey = (t: Pick<StatusTarget, 'kind' | 'namespace' | 'name'>): string =>
  `${t.kind}/${t.namespace}/${t.name}`;

const uidOf = (metadata: { uid?: string | undefined }): string | undefined => metadata.uid;

/** Whether this controller implements (and so reports on) a route's parent. */
function ownParent(p: ResolvedParentRef, config: ConfigResources): boolean {
  if (p.kind === 'Service' && (p.group === '' || p.group === 'core')) return true;
  if (p.kind !== 'Gateway' || p.group !== GATEWAY_GROUP) return false;
  const gw = config.Gateway.find(
    (g) => (g.metadata.namespace ?? 'default') === p.namespace && g.metadata.name === p.name,
  );
  return gw?.spec.gatewayClassName === WAYPOINT_CLASS;
}

/** Every route's wanted entries (ours), sorted as routeStatuses sorts them. */
export function routeTargets(config: ConfigResources): RouteTarget[] {
  const uids = new Map<string, string | undefined>();
  for (const r of config.HTTPRoute)
    uids.set(`HTTPRoute/${r.metadata.namespace ?? 'default'}/${r.metadata.name}`, uidOf(r.metadata));
  for (const r of config.GRPCRoute)
    uids.set(`GRPCRoute/${r.metadata.namespace ?? 'default'}/${r.metadata.name}`, uidOf(r.metadata));
  return routeStatuses(config).routes.map((r) => ({
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    uid: uids.get(targetKey(r)),
    parents: r.parents
      .filter((p) => ownParent(p.parentRef, config))
      .map((p) => ({
        parentRef: p.parentRef,
        controllerName: WAYPOINT_CONTROLLER_NAME,
        conditions: p.conditions,
      })),
  }));
}

/** This replica's discovery streams of one waypoint. */
function streamsOf(ref: string, subscribers: readonly SubscriberRecord[]): SubscriberRecord[] {
  return subscribers.filter(
    (r) => r.connected && r.subscriber.kind === 'waypoint' && r.subscriber.name === ref,
  );
}

/** Programmed as the leader writes it (see the header): pod readiness decides. Pure. */
export function clusterProgrammedCondition(
  w: Pick<MeshWaypoint, 'instances'> | undefined,
  streams: readonly Pick<SubscriberRecord, 'lastAckedVersion' | 'lastNackVersion' | 'lastNackError'>[],
  generation: number | undefined,
): StatusCondition<'Programmed'> {
  const instances = w?.instances.length ?? 0;
  const ready = w?.instances.filter((i) => i.ready).length ?? 0;
  if (ready > 0) {
    return condition(
      'Programmed',
      'True',
      'Programmed',
      `${ready}/${instances} waypoint pods ready (a waypoint pod is ready only once it holds config)`,
      generation,
    );
  }
  const nack = streams.find((s) => s.lastNackVersion !== undefined);
  if (
    nack &&
    streams.length > 0 &&
    streams.every((s) => s.lastAckedVersion === undefined && s.lastNackVersion !== undefined)
  ) {
    return condition(
      'Programmed',
      'False',
      'Invalid',
      `no waypoint pod is ready and the instances connected here NACKed their config (version ${nack.lastNackVersion ?? ''}: ${nack.lastNackError ?? ''})`,
      generation,
    );
  }
  return condition(
    'Programmed',
    'False',
    'Pending',
    instances === 0 ? 'no waypoint pod exists yet' : `0/${instances} waypoint pods ready`,
    generation,
  );
}

/** Every waypoint Gateway's wanted conditions and address. */
export function gatewayTargets(
  config: ConfigResources,
  state: MeshState,
  subscribers: readonly SubscriberRecord[],
): GatewayTarget[] {
  return config.Gateway.filter((g) => g.spec.gatewayClassName === WAYPOINT_CLASS)
    .map((g): GatewayTarget => {
      const namespace = g.metadata.namespace ?? 'default';
      const name = g.metadata.name;
      const gen = generationOf(g.metadata);
      const w = state.waypoints.find((x) => x.namespace === namespace && x.name === name);
      const svc = config.Service.find(
        (s) => (s.metadata.namespace ?? 'default') === namespace && s.metadata.name === name,
      );
      const ips = svc?.spec?.clusterIPs ?? (svc?.spec?.clusterIP === undefined ? [] : [svc.spec.clusterIP]);
      return {
        kind: 'Gateway',
        namespace,
        name,
        uid: uidOf(g.metadata),
        conditions: [
          condition('Accepted', 'True', 'Accepted', 'Accepted', gen),
          clusterProgrammedCondition(w, streamsOf(`${namespace}/${name}`, subscribers), gen),
        ],
        addresses: ips
          .filter((ip) => ip !== '' && ip !== 'None')
          .map((value) => ({ type: 'IPAddress', value })),
      };
    })
    .sort((a, b) => targetKey(a).localeCompare(targetKey(b)));
}

/** Everything the leader keeps: routes, then waypoint Gateways. */
export function statusTargets(
  config: ConfigResources,
  state: MeshState,
  subscribers: readonly SubscriberRecord[],
): StatusTarget[] {
  return [...routeTargets(config), ...gatewayTargets(config, state, subscribers)];
}
