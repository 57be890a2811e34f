// Sample config for controller tests: two nodes, an ambient namespace with pods on each node, a
// Service, and a waypoint. Returned as YAML text so tests write it into a config dir and edit it.
export interface SamplePod {
  name: string;
  node: string;
  ip: string;
  sa?: string;
  app?: string;
  ready?: boolean;
}

export const SAMPLE_PODS: SamplePod[] = [
  { name: 'cart-1', node: 'node-1', ip: '10.1.1.10', sa: 'cart', app: 'cart' },
  { name: 'cart-2', node: 'node-2', ip: '10.1.2.10', sa: 'cart', app: 'cart' },
  { name: 'web-1', node: 'node-1', ip: '10.1.1.11', sa: 'web', app: 'web' },
  { name: 'pay-1', node: 'node-2', ip: '10.1.2.11', sa: 'pay', app: 'pay' },
];

export function podYaml(p: SamplePod, namespace = 'shop'): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${p.name}
  namespace: ${namespace}
  labels: {app: ${p.app ?? p.name}}
  annotations: {ambit.dev/cgroup-path: /sys/fs/cgroup/ambit/${p.name}}
spec:
  nodeName: ${p.node}
  serviceAccountName: ${p.sa ?? 'default'}
  containers: [{name: main, image: app, ports: [{name: http, containerPort: 8080}]}]
status:
  podIP: ${p.ip}
  conditions: [{type: Ready, status: "${p.ready === false ? 'False' : 'True'}"}]
`;
}

/** The waypoint of namespace shop: Gateway `waypoint` and its pod waypoint-1 (service account waypoint) on node-1. */
export const SAMPLE_WAYPOINT_DOCS = [
  `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: ambit-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]`,
  `apiVersion: v1
kind: Pod
metadata:
  name: waypoint-1
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: waypoint, ambit.dev/dataplane-mode: none}
spec: {nodeName: node-1, serviceAccountName: waypoint}
status: {podIP: 10.1.1.99}`,
];

export function sampleMeshYaml(
  o: { pods?: SamplePod[]; cartPort?: number; waypoint?: boolean } = {},
): string {
  const pods = o.pods ?? SAMPLE_PODS;
  const sas = [...new Set(pods.map((p) => p.sa).filter((s): s is string => !!s && s !== 'default'))];
  const docs = [
    `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {ambit.dev/dataplane-mode: ambient}}`,
    ...['node-1', 'node-2'].map(
      (n, i) => `apiVersion: v1
kind: Node
metadata: {name: ${n}}
status: {addresses: [{type: InternalIP, address: 192.168.50.${i + 1}}]}`,
    ),
    ...(o.waypoint
      ? [
          ...SAMPLE_WAYPOINT_DOCS,
          'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: waypoint, namespace: shop}',
        ]
      : []),
    ...sas.map(
      (sa) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${sa}, namespace: shop}`,
    ),
    ...pods.map((p) => podYaml(p).trimEnd()),
    `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  clusterIP: 10.96.0.10
  ports: [{name: http, port: ${o.cartPort ?? 80}, targetPort: http}]`,
  ];
  return docs.join('\n---\n') + '\n';
}
