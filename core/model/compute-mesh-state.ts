// The pure step from validated config resources to the computed MeshState (mesh.ts): workloads
// with identities and enrolment, nodes, services with endpoints and health, waypoints, policies
// and compiled routes and traffic policies (compile-routes.ts). Deterministic (every list sorted by key) so equal configs give equal states.
import { nodeIdentity, workloadIdentity } from '../identity/spiffe.js';
import { compileRoute, compileTrafficPolicy } from './compile-routes.js';
import { routeWorldOf } from './route-problems.js';
import type { ConfigResources } from './validate-config.js';
import type { Pod } from './resources/pod.js';
import type { Service } from './resources/service.js';
import { WAYPOINT_CLASS, WAYPOINT_FOR_LABEL } from './resources/gateway.js';
import { SERVICE_NAME_LABEL } from './resources/endpoint-slice.js';
import {
  CGROUP_PATH_ANNOTATION,
  DATAPLANE_MODE_LABEL,
  GATEWAY_NAME_LABEL,
  NO_WAYPOINT,
  USE_WAYPOINT_LABEL,
} from './mesh-labels.js';
import {
  ROOT_NAMESPACE,
  type Endpoint,
  type MeshAuthorizationPolicy,
  type MeshNode,
  type MeshPeerAuthentication,
  type MeshRoute,
  type MeshService,
  type MeshState,
  type MeshTrafficPolicy,
  type MeshWaypoint,
  type MtlsMode,
  type PolicyScope,
  type ServicePort,
  type Workload,
  type WaypointFor,
  type WaypointRef,
} from './mesh.js';

export const CLUSTER_DOMAIN = 'cluster.local';

const byKey =
  <T>(k: (t: T) => string) =>
  (a: T, b: T) =>
    k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
const nsName = (t: { namespace: string; name: string }) => `${t.namespace}/${t.name}`;

export function podUid(pod: Pod): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
}

export function podServiceAccount(pod: Pod): string {
  return pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? 'default';
}

function podIps(pod: Pod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (ips.length > 0) return ips;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/** Ready condition; a hand-written pod without any Ready condition counts as ready unless it finished. */
function podReady(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const cond = pod.status?.conditions?.find((c) => c.type === 'Ready');
  return cond ? cond.status === 'True' : true;
}

/** Istio's workload name: the owning Deployment (ReplicaSet minus its hash), else the owner, else the pod. */
function workloadNameOf(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return pod.metadata.name;
  if (owner.kind === 'ReplicaSet') {
    const i = owner.name.lastIndexOf('-');
    return i > 0 ? owner.name.slice(0, i) : owner.name;
  }
  return owner.name;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const workloadMemo = new WeakMap<Pod, { context: string; workload: Workload }>();
const serviceMemo = new WeakMap<Service, { pods: readonly Pod[]; waypoint: string; service: MeshService }>();

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Every namespaced resource has its namespace after validateConfig ("default" when none was written). */
function namespaceOf(o: { metadata: { namespace?: string | undefined } }): string {
  return o.metadata.namespace ?? 'default';
}

/** A lookup in a map this computation filled for every key it asks (a miss is a bug here, not bad input). */
function present<K, V>(m: ReadonlyMap<K, V>, key: K, what: string): V {
  const v = m.get(key);
  if (v === undefined) throw new Error(`computeMeshState: no ${what} ${String(key)}`);
  return v;
}

export function computeMeshState(config: ConfigResources, trustDomain: string): MeshState {
  const namespaceLabels = new Map(config.Namespace.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const nsLabels = (ns: string) => namespaceLabels.get(ns) ?? {};

  // waypoints first: workloads and services resolve their use-waypoint against them
  const gateways = config.Gateway.filter((g) => g.spec.gatewayClassName === WAYPOINT_CLASS);
  const waypointFor = new Map<string, WaypointFor>();
  for (const g of gateways) {
    waypointFor.set(
      `${g.metadata.namespace}/${g.metadata.name}`,
      (g.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service') as WaypointFor,
    );
  }
  const resolveWaypoint = (
    ownLabels: Record<string, string>,
    namespace: string,
    accepts: (f: WaypointFor) => boolean,
  ): WaypointRef | undefined => {
    const name = ownLabels[USE_WAYPOINT_LABEL] ?? nsLabels(namespace)[USE_WAYPOINT_LABEL];
    if (name === undefined || name === NO_WAYPOINT) return undefined;
    const f = waypointFor.get(`${namespace}/${name}`);
    return f !== undefined && accepts(f) ? { namespace, name } : undefined;
  };

  // A workload depends on its Pod object, its namespace's labels, the namespace's waypoints and the
  // trust domain; validated Pods of unchanged files are the same objects between reloads, so the
  // Workload (and its wire JSON, cached by object in mesh-resources.ts) is reused.
  const contextOf = new Map<string, string>();
  const workloadContext = (namespace: string): string => {
    let c = contextOf.get(namespace);
    if (c === undefined) {
      const wps = [...waypointFor].filter(([k]) => k.startsWith(`${namespace}/`));
      c = JSON.stringify([trustDomain, nsLabels(namespace), wps]);
      contextOf.set(namespace, c);
    }
    return c;
  };
  const workloads: Workload[] = config.Pod.map((pod) => {
    const ctx = workloadContext(namespaceOf(pod));
    const memo = workloadMemo.get(pod);
    if (memo && memo.context === ctx) return memo.workload;
    const w = computeWorkload(pod);
    workloadMemo.set(pod, { context: ctx, workload: w });
    return w;
  }).sort(byKey((w) => w.uid));

  function computeWorkload(pod: Pod): Workload {
    const namespace = namespaceOf(pod);
    const labels = pod.metadata.labels ?? {};
    const mode = labels[DATAPLANE_MODE_LABEL] ?? nsLabels(namespace)[DATAPLANE_MODE_LABEL];
    const sa = podServiceAccount(pod);
    const gatewayName = labels[GATEWAY_NAME_LABEL];
    const workloadName = workloadNameOf(pod);
    const w: Workload = {
      uid: podUid(pod),
      namespace,
      name: pod.metadata.name,
      serviceAccount: sa,
      identity: workloadIdentity(trustDomain, namespace, sa),
      node: pod.spec?.nodeName ?? '',
      ips: podIps(pod),
      labels,
      // host-network pods share the node's network: never captured (as in Istio ambient)
      enrolled:
        labels[DATAPLANE_MODE_LABEL] !== 'none' && mode === 'ambient' && pod.spec?.hostNetwork !== true,
      ready: podReady(pod) && !pod.metadata.deletionTimestamp,
      terminating: pod.metadata.deletionTimestamp !== undefined,
      workloadName,
      canonicalService:
        labels['service.istio.io/canonical-name'] ??
        labels['app.kubernetes.io/name'] ??
        labels.app ??
        workloadName,
      canonicalRevision:
        labels['service.istio.io/canonical-revision'] ??
        labels['app.kubernetes.io/version'] ??
        labels.version ??
        'latest',
    };
    if (gatewayName !== undefined) w.waypointFor = { namespace, name: gatewayName };
    else {
      const wp = resolveWaypoint(labels, namespace, (f) => f === 'workload' || f === 'all');
      if (wp) w.waypoint = wp;
    }
    const cgroup = pod.metadata.annotations?.[CGROUP_PATH_ANNOTATION];
    if (cgroup !== undefined) w.cgroupPath = cgroup;
    const qosClass = pod.status?.qosClass;
    if (qosClass !== undefined) w.qosClass = qosClass;
    const app = labels['app.kubernetes.io/name'] ?? labels.app;
    if (app !== undefined) w.app = app;
    const version = labels['app.kubernetes.io/version'] ?? labels.version;
    if (version !== undefined) w.version = version;
    return w;
  }
  const workloadByUid = new Map(workloads.map((w) => [w.uid, w]));
  const workloadByName = new Map(workloads.map((w) => [nsName(w), w]));

  const nodes: MeshNode[] = config.Node.map((n) => ({
    name: n.metadata.name,
    address: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    identity: nodeIdentity(trustDomain, n.metadata.name),
  })).sort(byKey((n) => n.name));

  const slicesByService = new Map<string, typeof config.EndpointSlice>();
  for (const s of config.EndpointSlice) {
    const k = `${s.metadata.namespace}/${s.metadata.labels?.[SERVICE_NAME_LABEL]}`;
    slicesByService.set(k, [...(slicesByService.get(k) ?? []), s]);
  }

  // pods indexed by namespace and by each label pair, so selectors do not scan every pod
  const podsByLabel = new Map<string, Pod[]>();
  for (const p of config.Pod) {
    for (const [k, v] of Object.entries(p.metadata.labels ?? {})) {
      const key = `${p.metadata.namespace}\0${k}\0${v}`;
      const list = podsByLabel.get(key);
      if (list) list.push(p);
      else podsByLabel.set(key, [p]);
    }
  }
  const candidates = (namespace: string, selector: Record<string, string>): Pod[] => {
    const first = Object.entries(selector)[0];
    if (!first) return config.Pod.filter((p) => p.metadata.namespace === namespace); // {} selects all (Kubernetes)
    return podsByLabel.get(`${namespace}\0${first[0]}\0${first[1]}`) ?? [];
  };

  const services: MeshService[] = config.Service.map((svc) => {
    const namespace = namespaceOf(svc);
    const labels = svc.metadata.labels ?? {};
    const wp = resolveWaypoint(labels, namespace, (f) => f === 'service' || f === 'all');
    const wpKey = wp ? `${wp.namespace}/${wp.name}` : '';
    const selected = svc.spec?.selector ? candidates(namespace, svc.spec.selector) : undefined;
    // a selector Service is a function of its object, the candidate Pod objects and its waypoint
    const memo = serviceMemo.get(svc);
    if (selected && memo && memo.waypoint === wpKey && sameElements(memo.pods, selected)) return memo.service;
    const ports = servicePorts(svc);
    const vips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter(
      (ip) => ip !== 'None' && ip !== '',
    );
    const endpoints = selected
      ? selectorEndpoints(svc, ports, selected, workloadByUid)
      : sliceEndpoints(
          slicesByService.get(`${namespace}/${svc.metadata.name}`) ?? [],
          ports,
          workloadByName,
          namespace,
        );
    const s: MeshService = {
      namespace,
      name: svc.metadata.name,
      hostname: `${svc.metadata.name}.${namespace}.svc.${CLUSTER_DOMAIN}`,
      vips,
      ports,
      labels,
      endpoints: endpoints.sort(byKey((e) => `${e.ip}|${e.workloadUid}`)),
    };
    if (wp) s.waypoint = wp;
    if (selected) serviceMemo.set(svc, { pods: selected.slice(), waypoint: wpKey, service: s });
    return s;
  }).sort(byKey(nsName));

  const waypoints: MeshWaypoint[] = gateways
    .map((g) => {
      const namespace = namespaceOf(g);
      const pods = config.Pod.filter(
        (p) =>
          p.metadata.namespace === namespace && p.metadata.labels?.[GATEWAY_NAME_LABEL] === g.metadata.name,
      ).sort(byKey((p) => p.metadata.name));
      const instances = pods.flatMap((p) => {
        const w = present(workloadByUid, podUid(p), 'workload of pod');
        return w.ips[0] ? [{ workloadUid: w.uid, ip: w.ips[0], node: w.node, ready: w.ready }] : [];
      });
      const wp: MeshWaypoint = {
        namespace,
        name: g.metadata.name,
        for: present(waypointFor, `${namespace}/${g.metadata.name}`, 'waypoint-for of Gateway'),
        instances,
      };
      const first = pods[0];
      if (first) wp.identity = workloadIdentity(trustDomain, namespace, podServiceAccount(first));
      return wp;
    })
    .sort(byKey(nsName));

  const authorizationPolicies: MeshAuthorizationPolicy[] = config.AuthorizationPolicy.map((p) => {
    const namespace = namespaceOf(p);
    const refs = p.spec?.targetRefs ?? (p.spec?.targetRef ? [p.spec.targetRef] : []);
    const matchLabels = p.spec?.selector?.matchLabels;
    const scope: PolicyScope =
      refs.length > 0
        ? {
            kind: 'targetRefs',
            targetRefs: refs.map((t) => ({ group: t.group, kind: t.kind, name: t.name })),
          }
        : matchLabels && Object.keys(matchLabels).length > 0
          ? { kind: 'selector', matchLabels }
          : { kind: 'namespace' };
    return {
      namespace,
      name: p.metadata.name,
      scope,
      action: p.spec?.action ?? 'ALLOW',
      rules: (p.spec?.rules ?? []) as MeshAuthorizationPolicy['rules'],
      meshWide: namespace === ROOT_NAMESPACE,
      enforcedBy: scope.kind === 'targetRefs' ? 'waypoint' : 'ztunnel',
    } satisfies MeshAuthorizationPolicy;
  }).sort(byKey(nsName));

  const peerAuthentications: MeshPeerAuthentication[] = config.PeerAuthentication.map((p) => {
    const namespace = namespaceOf(p);
    const selector = p.spec?.selector?.matchLabels;
    const hasSelector = selector !== undefined && Object.keys(selector).length > 0;
    const pa: MeshPeerAuthentication = {
      namespace,
      name: p.metadata.name,
      mode: p.spec?.mtls?.mode ?? 'UNSET',
      portLevelMtls: Object.fromEntries(
        Object.entries(p.spec?.portLevelMtls ?? {}).map(([port, m]): [string, MtlsMode] => [
          port,
          m.mode ?? 'UNSET',
        ]),
      ),
      meshWide: namespace === ROOT_NAMESPACE && !hasSelector,
    };
    if (hasSelector) pa.selector = selector;
    return pa;
  }).sort(byKey(nsName));

  const routeWorld = routeWorldOf(config);
  const routes: MeshRoute[] = [
    ...config.HTTPRoute.map((object) => compileRoute({ kind: 'HTTPRoute', object }, routeWorld)),
    ...config.GRPCRoute.map((object) => compileRoute({ kind: 'GRPCRoute', object }, routeWorld)),
  ].sort(byKey((r) => `${r.kind}/${r.namespace}/${r.name}`));

  const trafficPolicies: MeshTrafficPolicy[] = config.TrafficPolicy.map(compileTrafficPolicy).sort(
    byKey(nsName),
  );

  return {
    trustDomain,
    workloads,
    meshDestinations: [],
    nodes,
    services,
    waypoints,
    authorizationPolicies,
    peerAuthentications,
    routes,
    trafficPolicies,
  };
}

function servicePorts(svc: Service): ServicePort[] {
  return (svc.spec?.ports ?? []).map((p) => {
    const sp: ServicePort = {
      port: p.port,
      targetPort: p.targetPort ?? p.port,
      protocol: p.protocol ?? 'TCP',
    };
    if (p.name !== undefined) sp.name = p.name;
    if (p.appProtocol !== undefined) sp.appProtocol = p.appProtocol;
    return sp;
  });
}

function selectorEndpoints(
  svc: Service,
  ports: ServicePort[],
  pods: Pod[],
  workloads: Map<string, Workload>,
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const pod of pods) {
    if (!selects(svc.spec?.selector, pod.metadata.labels ?? {})) continue;
    const w = present(workloads, podUid(pod), 'workload of pod');
    const ip = w.ips[0];
    if (!ip) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const portMap: Record<string, number> = {};
    for (const p of ports) {
      if (typeof p.targetPort === 'number') portMap[String(p.port)] = p.targetPort;
      else {
        const named = pod.spec?.containers
          ?.flatMap((c) => c.ports ?? [])
          .find((cp) => cp.name === p.targetPort);
        if (named) portMap[String(p.port)] = named.containerPort;
      }
    }
    out.push({
      workloadUid: w.uid,
      ip,
      node: w.node,
      ports: portMap,
      ready: w.ready,
      serving: podReady(pod),
      terminating: w.terminating,
    });
  }
  return out;
}

function sliceEndpoints(
  slices: ConfigResources['EndpointSlice'],
  ports: ServicePort[],
  workloadByName: Map<string, Workload>,
  namespace: string,
): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const portMap: Record<string, number> = {};
    for (const sp of ports) {
      const match =
        (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '')) ??
        (ports.length === 1 ? slice.ports?.[0] : undefined);
      const target = match?.port ?? (typeof sp.targetPort === 'number' ? sp.targetPort : undefined);
      if (target !== undefined) portMap[String(sp.port)] = target;
    }
    for (const e of slice.endpoints ?? []) {
      const terminating = e.conditions?.terminating ?? false;
      // Kubernetes: ready unset means ready; serving unset means the same as ready
      const readyCond = e.conditions?.ready ?? !terminating;
      const serving = e.conditions?.serving ?? readyCond;
      const ref = e.targetRef?.kind === 'Pod' || e.targetRef?.kind === undefined ? e.targetRef : undefined;
      const w = ref ? workloadByName.get(`${ref.namespace ?? namespace}/${ref.name}`) : undefined;
      for (const ip of e.addresses) {
        out.push({
          workloadUid: ref?.uid ?? w?.uid ?? '',
          ip,
          node: e.nodeName ?? w?.node ?? '',
          ports: { ...portMap },
          ready: readyCond && !terminating,
          serving,
          terminating,
        });
      }
    }
  }
  return out;
}
