// The shape of a local cluster, decided before anything is created: names (all under one random
// prefix, so runs never collide and a sweep finds everything), network namespaces, addresses
// (10.x, only inside our namespaces) and cgroup directories. Pure.
//
//   control netns <p>ctl: bridge ul0 10.250.0.254/24 = the underlay; the controller listens here
//   node i  netns <p>n<i>: ul 10.250.0.<i>/24 (InternalIP), bridge br0 10.20.<i>.1/24 for its pods,
//                          routes 10.20.<k>.0/24 via 10.250.0.<k> to the other nodes
//   pod j on node i, netns <p>n<i>p<j>: eth0 10.20.<i>.<10+j>/24, default via 10.20.<i>.1
//   cgroup of that pod: <cgroup2 root>/<p>cluster/n<i>p<j>
//   waypoint instance k of Gateway <gw>: a pod named <gw>-<k> like any other (its own netns and
//   address), labelled as DESIGN §6 says and never enrolled; it runs `ambit waypoint`, not the app
import { randomBytes } from 'node:crypto';
import { DATAPLANE_MODE_LABEL, GATEWAY_NAME_LABEL } from '../core/model/mesh-labels.js';

export const UNDERLAY_CIDR_PREFIX = '10.250.0';
export const CONTROL_ADDRESS = `${UNDERLAY_CIDR_PREFIX}.254`;
export const CONTROLLER_PORT = 15010;
export const SERVICE_VIP_PREFIX = '10.96.0';
export const HTTP_PORT = 8080;
export const ECHO_PORT = 9000;
/** The pod app's gRPC echo (proto/ambit/echo.proto); 7070 as in Gateway API's mesh conformance. */
export const GRPC_PORT = 7070;

export interface PodSpec {
  name: string;
  namespace: string;
  /** 1-based node index */
  node: number;
  labels?: Record<string, string>;
  serviceAccount?: string;
  /**
   * Environment of the pod's app (local-cluster/pod-app.ts), e.g. AMBIT_ECHO_FAIL_PERCENT=50 for a
   * backend that fails without the client asking.
   */
  env?: Record<string, string>;
}

/** A waypoint: a Gateway of class ambit-waypoint and one pod per instance. */
export interface WaypointSpec {
  /** the Gateway's name */
  name: string;
  namespace: string;
  /** one instance pod per entry, on that (1-based) node; the pods are named <name>-1, <name>-2, ... */
  instances: number[];
  /** default: the Gateway's name */
  serviceAccount?: string;
  /** ambit.dev/waypoint-for (DESIGN §6); default service */
  for?: 'service' | 'workload' | 'all' | 'none';
}

export interface NamespaceSpec {
  name: string;
  labels?: Record<string, string>;
}

export interface ServiceSpec {
  name: string;
  namespace: string;
  selector: Record<string, string>;
  labels?: Record<string, string>;
  /** service port -> target port */
  ports: { name: string; port: number; targetPort: number }[];
}

/** A security.ambit.dev/v1 AuthorizationPolicy, Istio's fields (enforced by the ztunnels). */
export interface AuthorizationPolicySpec {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
  action: 'ALLOW' | 'DENY';
  rules: Record<string, unknown>[];
}

export interface TopologySpec {
  nodes: number;
  namespaces: NamespaceSpec[];
  pods: PodSpec[];
  services: ServiceSpec[];
  authorizationPolicies?: AuthorizationPolicySpec[];
  waypoints?: WaypointSpec[];
  /**
   * Further resources written as they are (HTTPRoute, GRPCRoute, TrafficPolicy, AuthorizationPolicy
   * with targetRefs, ...), into extra.yaml; LocalCluster.setExtraManifests replaces them at run time.
   */
  manifests?: Record<string, unknown>[];
  /**
   * Dual stack: every pod also gets an IPv6 address (fd00:20:<node>::<10+j>, ULA, only inside our
   * namespaces), nodes an underlay and bridge IPv6 address and routes, and Pod status.podIPs lists
   * both (IPv4 first, the primary).
   */
  ipv6?: boolean;
}

export interface NodePlan {
  index: number;
  name: string;
  netns: string;
  address: string;
  podCidr: string;
  bridgeAddress: string;
  /** dual stack only */
  address6?: string;
  podCidr6?: string;
  bridgeAddress6?: string;
}

/** The control netns's underlay IPv6 address (dual stack only). */
export const CONTROL_ADDRESS6 = 'fd00:250::fe';

export interface PodPlan {
  spec: PodSpec;
  uid: string;
  netns: string;
  /** link name in the node netns */
  nodeLink: string;
  ip: string;
  /** dual stack only: the pod's IPv6 address */
  ip6?: string;
  node: NodePlan;
  /** relative to the cgroup2 root: what the ambit.dev/cgroup-path annotation says */
  cgroupRel: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** set on a waypoint instance pod: the Gateway it runs */
  waypoint?: { namespace: string; name: string };
}

export interface ServicePlan {
  spec: ServiceSpec;
  vip: string;
}

export interface Topology {
  prefix: string;
  controlNetns: string;
  cgroupDirRel: string;
  nodes: NodePlan[];
  pods: PodPlan[];
  services: ServicePlan[];
  namespaces: NamespaceSpec[];
  authorizationPolicies: AuthorizationPolicySpec[];
  waypoints: WaypointSpec[];
  manifests: Record<string, unknown>[];
}

export function randomPrefix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(4);
  return `amb${[...bytes].map((b) => alphabet[b % alphabet.length]).join('')}-`;
}

/**
 * Two nodes, an ambient namespace `mesh` and an unenrolled namespace `plain`, with the given pods
 * and services: the shape the kernel e2e suites and bench/redirect compare enrolled and
 * unenrolled pods in.
 */
export function meshAndPlainSpec(pods: PodSpec[], services: ServiceSpec[] = []): TopologySpec {
  return {
    nodes: 2,
    namespaces: [
      { name: 'mesh', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
      { name: 'plain', labels: {} },
    ],
    pods,
    services,
  };
}

/**
 * Two nodes, two pods each, all in the ambient namespace `demo`, a Service for the servers, and
 * one L4 policy so the demo shows a refusal: clients may use the servers' HTTP port, not the echo
 * port.
 */
export function defaultTopologySpec(): TopologySpec {
  return {
    nodes: 2,
    namespaces: [{ name: 'demo', labels: { 'ambit.dev/dataplane-mode': 'ambient' } }],
    pods: [
      { name: 'client-1', namespace: 'demo', node: 1, labels: { app: 'client' }, serviceAccount: 'client' },
      { name: 'server-1', namespace: 'demo', node: 1, labels: { app: 'server' }, serviceAccount: 'server' },
      { name: 'client-2', namespace: 'demo', node: 2, labels: { app: 'client' }, serviceAccount: 'client' },
      { name: 'server-2', namespace: 'demo', node: 2, labels: { app: 'server' }, serviceAccount: 'server' },
    ],
    services: [
      {
        name: 'server',
        namespace: 'demo',
        selector: { app: 'server' },
        ports: [
          { name: 'http', port: 80, targetPort: HTTP_PORT },
          { name: 'echo', port: ECHO_PORT, targetPort: ECHO_PORT },
        ],
      },
    ],
    authorizationPolicies: [
      {
        name: 'clients-no-echo',
        namespace: 'demo',
        selector: { app: 'server' },
        action: 'DENY',
        rules: [
          {
            from: [{ source: { principals: ['cluster.local/ns/demo/sa/client'] } }],
            to: [{ operation: { ports: [String(ECHO_PORT)] } }],
          },
        ],
      },
    ],
  };
}

/**
 * The demo's cluster: the default one plus L7. Service `server` uses a waypoint whose HTTPRoute
 * splits it 90/10 between v1 (server-1, server-2) and a canary v2 (server-canary), and Service
 * `flaky` (a pod failing half its requests with 503) uses it with a retry (3 attempts on 503).
 */
export function demoTopologySpec(): TopologySpec {
  const base = defaultTopologySpec();
  const useWaypoint = { 'ambit.dev/use-waypoint': 'waypoint' };
  const route = (name: string, rules: Record<string, unknown>[]): Record<string, unknown> => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'demo' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name, port: 80 }], rules },
  });
  const httpService = (
    name: string,
    selector: Record<string, string>,
    labels: Record<string, string> = {},
  ): ServiceSpec => ({
    name,
    namespace: 'demo',
    selector,
    labels,
    ports: [{ name: 'http', port: 80, targetPort: HTTP_PORT }],
  });
  return {
    ...base,
    pods: [
      ...base.pods.map((p) =>
        p.labels?.app === 'server' ? { ...p, labels: { ...p.labels, version: 'v1' } } : p,
      ),
      {
        name: 'server-canary',
        namespace: 'demo',
        node: 2,
        labels: { app: 'server', version: 'v2' },
        serviceAccount: 'server',
      },
      {
        name: 'flaky-1',
        namespace: 'demo',
        node: 1,
        labels: { app: 'flaky' },
        env: { AMBIT_ECHO_FAIL_PERCENT: '50' },
      },
    ],
    services: [
      ...base.services.map((s) => (s.name === 'server' ? { ...s, labels: useWaypoint } : s)),
      httpService('server-v1', { app: 'server', version: 'v1' }),
      httpService('server-v2', { app: 'server', version: 'v2' }),
      httpService('flaky', { app: 'flaky' }, useWaypoint),
    ],
    waypoints: [{ name: 'waypoint', namespace: 'demo', instances: [2] }],
    manifests: [
      route('server', [
        {
          backendRefs: [
            { name: 'server-v1', port: 80, weight: 90 },
            { name: 'server-v2', port: 80, weight: 10 },
          ],
        },
      ]),
      route('flaky', [{ retry: { attempts: 3, codes: [503] }, backendRefs: [{ name: 'flaky', port: 80 }] }]),
    ],
  };
}

export function planTopology(spec: TopologySpec, prefix = randomPrefix()): Topology {
  if (spec.nodes < 1 || spec.nodes > 200) throw new Error('nodes must be 1..200');
  const nodes: NodePlan[] = [];
  for (let i = 1; i <= spec.nodes; i++) {
    nodes.push({
      index: i,
      name: `${prefix}n${i}`,
      netns: `${prefix}n${i}`,
      address: `${UNDERLAY_CIDR_PREFIX}.${i}`,
      podCidr: `10.20.${i}.0/24`,
      bridgeAddress: `10.20.${i}.1`,
      ...(spec.ipv6
        ? { address6: `fd00:250::${i}`, podCidr6: `fd00:20:${i}::/64`, bridgeAddress6: `fd00:20:${i}::1` }
        : {}),
    });
  }
  const perNode = new Map<number, number>();
  const podSpecs: (PodSpec & { waypoint?: { namespace: string; name: string } })[] = [
    ...spec.pods,
    ...waypointPodSpecs(spec.waypoints ?? []),
  ];
  const pods: PodPlan[] = podSpecs.map((p) => {
    const node = nodes[p.node - 1];
    if (!node) throw new Error(`pod ${p.name}: no node ${p.node}`);
    const j = (perNode.get(p.node) ?? 0) + 1;
    if (j > 200) throw new Error('at most 200 pods per node');
    perNode.set(p.node, j);
    const short = `n${p.node}p${j}`;
    return {
      spec: p,
      uid: `${prefix}${short}-uid`,
      netns: `${prefix}${short}`,
      nodeLink: `p${j}`,
      ip: `10.20.${p.node}.${10 + j}`,
      ...(spec.ipv6 ? { ip6: `fd00:20:${p.node}::${10 + j}` } : {}),
      node,
      cgroupRel: `${prefix}cluster/${short}`,
      labels: p.labels ?? {},
      serviceAccount: p.serviceAccount ?? 'default',
      ...(p.waypoint ? { waypoint: p.waypoint } : {}),
    };
  });
  const names = new Set<string>();
  for (const p of pods) {
    const key = `${p.spec.namespace}/${p.spec.name}`;
    if (names.has(key)) throw new Error(`two pods named ${key}`);
    names.add(key);
  }
  const services = spec.services.map((s, i) => ({ spec: s, vip: `${SERVICE_VIP_PREFIX}.${10 + i}` }));
  return {
    prefix,
    controlNetns: `${prefix}ctl`,
    cgroupDirRel: `${prefix}cluster`,
    nodes,
    pods,
    services,
    namespaces: spec.namespaces,
    authorizationPolicies: spec.authorizationPolicies ?? [],
    waypoints: spec.waypoints ?? [],
    manifests: spec.manifests ?? [],
  };
}

/** The instance pods of each waypoint: labelled with their Gateway and opted out of capture. */
function waypointPodSpecs(
  waypoints: WaypointSpec[],
): (PodSpec & { waypoint: { namespace: string; name: string } })[] {
  return waypoints.flatMap((w) =>
    w.instances.map((node, k) => ({
      name: `${w.name}-${k + 1}`,
      namespace: w.namespace,
      node,
      labels: { [GATEWAY_NAME_LABEL]: w.name, [DATAPLANE_MODE_LABEL]: 'none' },
      serviceAccount: w.serviceAccount ?? w.name,
      waypoint: { namespace: w.namespace, name: w.name },
    })),
  );
}

/** The instance pods of one waypoint, in instance order. */
export function waypointPods(t: Topology, namespace: string, gateway: string): PodPlan[] {
  return t.pods.filter((p) => p.waypoint?.namespace === namespace && p.waypoint.name === gateway);
}

export function podByName(t: Topology, name: string): PodPlan {
  const p = t.pods.find((x) => x.spec.name === name);
  if (!p) throw new Error(`no pod ${name}`);
  return p;
}
