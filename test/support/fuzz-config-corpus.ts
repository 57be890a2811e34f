// The valid config the config fuzz suite mutates: one document of every resource kind the model
// knows (DESIGN.md §6), each field family used once, all references resolving - so a mutation is
// the only reason a set is rejected. Also the YAML text shapes a hand-edited file goes wrong in:
// duplicate keys, anchors and aliases (bounded), tabs, truncation.
import { parseAllDocuments } from 'yaml';
import type { Json } from './fuzz-mutate.js';

export const VALID_MANIFESTS_YAML = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {ambit.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 192.168.1.1}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: cart, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: cart-1, namespace: shop, labels: {app: cart}}
spec:
  nodeName: node-1
  serviceAccountName: cart
  containers: [{name: main, image: app, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.1.0.1, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, clusterIP: 10.96.0.1, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: ambit-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart-split, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-user, value: test}], method: GET}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-mesh, value: ambit}], remove: [x-debug]}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: cart, port: 80}, percent: 10}}
    backendRefs: [{name: cart, port: 80, weight: 90}, {name: cart, port: 80, weight: 10}]
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {attempts: 3, codes: [502, 503], backoff: 100ms}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: cart-grpc, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart}]
  rules: [{matches: [{method: {service: shop.Cart, method: Get}}], backendRefs: [{name: cart, port: 80}]}]
---
apiVersion: security.ambit.dev/v1
kind: AuthorizationPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/web], ipBlocks: [10.0.0.0/8]}}]
    to: [{operation: {ports: ["8080"], methods: [GET]}}]
    when: [{key: "request.headers[x-user]", values: [test]}]
---
apiVersion: security.ambit.dev/v1
kind: AuthorizationPolicy
metadata: {name: waypoint-deny, namespace: shop}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  action: DENY
  rules: [{to: [{operation: {paths: [/admin]}}]}]
---
apiVersion: security.ambit.dev/v1
kind: PeerAuthentication
metadata: {name: cart-strict, namespace: shop}
spec: {selector: {matchLabels: {app: cart}}, mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: PERMISSIVE}}}
---
apiVersion: networking.ambit.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cart-resilience, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: cart}]
  connectionPool: {tcp: {maxConnections: 100, connectTimeout: 1s}, http: {http2MaxRequests: 1000, maxRetries: 3}}
  outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  loadBalancer: {simple: LEAST_REQUEST}
  retryBudget: {percent: 20, minRetryConcurrency: 3}
  retry: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,unavailable,409", retriableStatusCodes: [429], backoff: {baseInterval: 25ms, maxInterval: 1s}, retryNonIdempotent: false}
  fault: {delay: {percentage: {value: 1}, fixedDelay: 100ms}, abort: {percentage: {value: 0.5}, httpStatus: 503}}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-1, namespace: shop, labels: {kubernetes.io/service-name: ext}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.9.0.1], conditions: {ready: true}, nodeName: node-1}]
`;

/** The corpus as JSON documents, in file order. */
export function validManifests(): Json[] {
  return parseAllDocuments(VALID_MANIFESTS_YAML).map((d) => {
    if (Array.isArray(d)) throw new Error('corpus is one stream');
    return d.toJS() as Json;
  });
}

/**
 * A "billion laughs" document bounded by the caller: `depth` levels of anchors, each a list of
 * `width` aliases of the level below (width^depth leaves when expanded).
 */
export function aliasBomb(depth: number, width: number): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}', 'l0: &l0 [x]'];
  for (let i = 1; i <= depth; i++)
    lines.push(`l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

/** The same key twice in one mapping (YAML 1.2 forbids it). */
export const DUPLICATE_KEY_DOC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: dup, name: dup2, namespace: shop}
`;
