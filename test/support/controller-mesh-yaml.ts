// The mesh the ztunnel integration suites run against a real controller: two nodes on loopback
// addresses <p>.2 and <p>.3, an ambient namespace with a client pod on node-1 and echo and
// half-close server pods on node-2, and a Service `echo` in front of the echo pod.
export function ztunnelMeshYaml(p: string, ports: { echo: number; halfClose: number }, extra = ''): string {
  const pod = (name: string, node: string, ip: string, port: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: ${name}}}
spec:
  nodeName: ${node}
  serviceAccountName: ${name}
  containers: [{name: main, image: app, ports: [{name: tcp, containerPort: ${port}}]}]
status:
  podIP: ${ip}
  conditions: [{type: Ready, status: "True"}]`;
  const docs = [
    `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {ambit.dev/dataplane-mode: ambient}}`,
    `apiVersion: v1
kind: Namespace
metadata: {name: ambit-system}`,
    ...[1, 2].map(
      (i) => `apiVersion: v1
kind: Node
metadata: {name: node-${i}}
status: {addresses: [{type: InternalIP, address: ${p}.${i + 1}}]}`,
    ),
    ...['client', 'echo', 'halfclose'].map(
      (sa) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${sa}, namespace: shop}`,
    ),
    pod('client', 'node-1', `${p}.11`, 1),
    pod('echo', 'node-2', `${p}.12`, ports.echo),
    pod('halfclose', 'node-2', `${p}.13`, ports.halfClose),
    `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: shop}
spec:
  selector: {app: echo}
  clusterIP: ${p}.100
  ports: [{name: tcp, port: 80, targetPort: ${ports.echo}}]`,
  ];
  return docs.join('\n---\n') + '\n' + (extra ? `---\n${extra}` : '');
}

/**
 * A waypoint of the shared mesh: Gateway `<ns>/<gateway>` of class ambit-waypoint, its
 * ServiceAccount, and one Ready pod at `podIp` on node-1 (never captured). Documents joined by `---`.
 */
export function waypointYaml(w: { namespace: string; gateway: string }, podIp: string): string {
  return [
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${w.gateway}, namespace: ${w.namespace}}
spec:
  gatewayClassName: ambit-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]`,
    `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${w.gateway}, namespace: ${w.namespace}}`,
    `apiVersion: v1
kind: Pod
metadata:
  name: ${w.gateway}-0
  namespace: ${w.namespace}
  labels: {gateway.networking.k8s.io/gateway-name: ${w.gateway}, ambit.dev/dataplane-mode: none}
spec: {nodeName: node-1, serviceAccountName: ${w.gateway}, containers: [{name: waypoint, image: ambit}]}
status: {podIP: ${podIp}, conditions: [{type: Ready, status: "True"}]}`,
  ].join('\n---\n');
}
