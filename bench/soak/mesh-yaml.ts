// The mesh the soak runs on, on top of test/support/controller-mesh-yaml.ts's two nodes (<p>.2,
// <p>.3), client pod <p>.11 (node-1) and echo pod <p>.12 (node-2, the soak backend):
// - Service `echo` (<p>.100:80 -> TCP echo), L4 only;
// - Service `web` (<p>.110:80 -> HTTP) and `rpc` (<p>.111:7070 -> gRPC), both through the
//   waypoint shop/wp (pod <p>.20 on node-1);
// - an HTTPRoute retrying 503 twice on /retry (the rest of `web` is not retried), and a
//   TrafficPolicy retrying UNAVAILABLE on `rpc`.
import { waypointYaml, ztunnelMeshYaml } from '../../test/support/controller-mesh-yaml.js';

export const WAYPOINT = { namespace: 'shop', gateway: 'wp' } as const;

export interface SoakMesh {
  yaml: string;
  waypointIp: string;
  echo: { ip: string; port: number };
  web: { ip: string; port: number; host: string };
  rpc: { ip: string; port: number; host: string };
}

export function soakMeshYaml(p: string, ports: { tcp: number; http: number; grpc: number }): SoakMesh {
  const waypointIp = `${p}.20`;
  const service = (name: string, ip: string, port: number, target: number) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop, labels: {ambit.dev/use-waypoint: ${WAYPOINT.gateway}}}
spec:
  selector: {app: echo}
  clusterIP: ${ip}
  ports: [{name: ${name}, port: ${port}, targetPort: ${target}}]`;
  const extra = [
    waypointYaml(WAYPOINT, waypointIp),
    service('web', `${p}.110`, 80, ports.http),
    service('rpc', `${p}.111`, 7070, ports.grpc),
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-retry, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /retry}}]
    backendRefs: [{name: web, port: 80}]
    retry: {attempts: 2, codes: [503], backoff: 1ms}
  - backendRefs: [{name: web, port: 80}]`,
    `apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: rpc-retry, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: rpc}]
  retry: {attempts: 2, retryOn: unavailable, backoff: {baseInterval: 1ms, maxInterval: 10ms}}`,
  ].join('\n---\n');
  return {
    yaml: ztunnelMeshYaml(p, { echo: ports.tcp, halfClose: ports.tcp }, extra + '\n'),
    waypointIp,
    echo: { ip: `${p}.100`, port: 80 },
    web: { ip: `${p}.110`, port: 80, host: 'web.shop.svc.cluster.local' },
    rpc: { ip: `${p}.111`, port: 7070, host: 'rpc.shop.svc.cluster.local' },
  };
}
