// The mesh the status writer's tests run on, as manifests (the same text goes to validateConfig for
// config()/state() and to the fake API server as the objects whose status is written): a waypoint
// Gateway with its Service and pods, routes that attach, one with a dropped rule (PartiallyInvalid),
// a GRPCRoute, a route on a Gateway of another class (not ours to report), and a route whose
// backend is missing (a Kubernetes store accepts it; the embedded one would reject it, so it is
// added after validation). Test-only (the build leaves out *.test-helper.ts).
import { parse } from 'yaml';
import { computeMeshState } from '../../core/model/compute-mesh-state.js';
import type { MeshState } from '../../core/model/mesh.js';
import { httpRouteSchema } from '../../core/model/resources/http-route.js';
import { validateConfig, type ConfigResources } from '../../core/model/validate-config.js';

export const TRUST_DOMAIN = 'cluster.local';

const waypointPod = (name: string, ip: string, ready: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
  labels: {gateway.networking.k8s.io/gateway-name: waypoint, ambit.dev/dataplane-mode: none}
spec:
  nodeName: node-1
  serviceAccountName: waypoint
  containers: [{name: waypoint, image: ambit}]
status:
  podIP: ${ip}
  conditions: [{type: Ready, status: "${ready ? 'True' : 'False'}"}]`;

/** The manifests; `readyWaypoints` of the two waypoint pods are Ready. */
export function statusMeshYaml(readyWaypoints = 1): string {
  return [
    `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {ambit.dev/dataplane-mode: ambient}}`,
    `apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}`,
    `apiVersion: v1
kind: ServiceAccount
metadata: {name: waypoint, namespace: shop}`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: ambit-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]`,
    `apiVersion: v1
kind: Service
metadata: {name: waypoint, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  selector: {gateway.networking.k8s.io/gateway-name: waypoint}
  ports: [{name: mesh, port: 15008}]`,
    waypointPod('waypoint-a', '10.0.1.20', readyWaypoints >= 1),
    waypointPod('waypoint-b', '10.0.1.21', readyWaypoints >= 2),
    `apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop, labels: {ambit.dev/use-waypoint: waypoint}}
spec:
  clusterIP: 10.96.0.10
  selector: {app: cart}
  ports: [{name: http, port: 8080}]`,
    `apiVersion: v1
kind: Service
metadata: {name: rpc, namespace: shop}
spec:
  clusterIP: 10.96.0.11
  selector: {app: rpc}
  ports: [{name: grpc, port: 9090}]`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 8080}]
  rules: [{backendRefs: [{name: cart, port: 8080}]}]`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart-partial, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules:
    - backendRefs: [{name: cart, port: 8080}]
    - filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Magic, name: m}}]
      backendRefs: [{name: cart, port: 8080}]`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: edge-only, namespace: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: cart, port: 8080}]}]`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: rpc}]
  rules: [{backendRefs: [{name: rpc, port: 9090}]}]`,
  ].join('\n---\n');
}

/** Added after validation: its backend Service does not exist (ResolvedRefs False). */
export const GHOST_ROUTE_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ghost, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules: [{backendRefs: [{name: ghost, port: 8080}]}]`;

/** Every manifest as an object, for the fake API server. */
export function statusMeshObjects(readyWaypoints = 1): Record<string, unknown>[] {
  return [...statusMeshYaml(readyWaypoints).split('\n---\n'), GHOST_ROUTE_YAML].map(
    (d) => parse(d) as Record<string, unknown>,
  );
}

/** The route added after validation (a Kubernetes store keeps it; validateConfig would refuse it). */
const unvalidated = (o: Record<string, unknown>): boolean =>
  o.kind === 'HTTPRoute' && (o.metadata as { name?: unknown } | undefined)?.name === 'ghost';

/**
 * config() and state() as a store would give them, from objects (the fake API server's, with
 * uid, generation and resourceVersion) or by default from the manifests above.
 */
export function statusMesh(objects: readonly Record<string, unknown>[] = statusMeshObjects()): {
  config: ConfigResources;
  state: MeshState;
} {
  const files = objects
    .filter((o) => !unvalidated(o))
    .map((o, i) => ({ path: `object-${i}.json`, text: JSON.stringify(o) }));
  const v = validateConfig(files);
  if (!v.valid) {
    throw new Error(
      `status mesh fixture invalid: ${v.errors.map((e) => `${e.resource} ${e.field}: ${e.message}`).join('; ')}`,
    );
  }
  const config = v.result;
  for (const o of objects.filter(unvalidated)) config.HTTPRoute.push(httpRouteSchema.parse(o));
  return { config, state: computeMeshState(config, TRUST_DOMAIN) };
}
