import { describe, expect, it } from 'vitest';
import { formatConfigError } from './config-error.js';
import { RESOURCE_KINDS } from './resources/resource-kinds.js';
import { validateConfig } from './validate-config.js';

const BASE = `apiVersion: v1
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
spec: {nodeName: node-1, serviceAccountName: cart}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}, clusterIP: 10.96.0.1, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec:
  gatewayClassName: ambit-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`;

function run(files: Record<string, string>): string[] {
  const r = validateConfig([
    { path: 'base.yaml', text: BASE },
    ...Object.entries(files).map(([path, text]) => ({ path, text })),
  ]);
  return r.valid ? [] : r.errors.map(formatConfigError);
}

const VALID_EXTRAS = `apiVersion: gateway.networking.k8s.io/v1
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

describe('validateConfig accepts valid configs', () => {
  it('the base config', () => {
    expect(run({})).toEqual([]);
  });
  it('routes, policies, a TrafficPolicy and an EndpointSlice using every modelled field family', () => {
    expect(run({ 'extras.yaml': VALID_EXTRAS })).toEqual([]);
  });
});

interface Case {
  description: string;
  files: Record<string, string>;
  error: string;
}

const CASES: Case[] = [
  {
    description: 'bad YAML syntax',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n' },
    error: 'bad.yaml doc 1: YAML syntax error at line',
  },
  {
    description: 'a document that is not a mapping',
    files: { 'list.yaml': '- a\n- b\n' },
    error: 'list.yaml doc 1: document must be a mapping with apiVersion, kind and metadata',
  },
  {
    description: 'missing kind',
    files: { 'k.yaml': 'apiVersion: v1\nmetadata: {name: x}\n' },
    error: 'k.yaml doc 1: kind: required',
  },
  {
    description: 'unknown kind',
    files: { 'u.yaml': 'apiVersion: v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n' },
    error: 'u.yaml doc 1 Deployment shop/web: kind: unknown kind "Deployment"',
  },
  {
    description: 'Istio apiVersion on a security kind',
    files: {
      'p.yaml':
        'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec: {}\n',
    },
    error:
      'p.yaml doc 1 AuthorizationPolicy shop/p: apiVersion: "security.istio.io/v1" is not served for AuthorizationPolicy: use security.ambit.dev/v1 (Istio policies port by changing apiVersion to security.ambit.dev/v1)',
  },
  {
    description: 'missing metadata.name',
    files: { 'n.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: shop}\n' },
    error: 'n.yaml doc 1 ServiceAccount shop/<unnamed>: metadata.name: required',
  },
  {
    description: 'invalid name',
    files: {
      'n.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: Bad_Name, namespace: shop}\n',
    },
    error: 'n.yaml doc 1 ServiceAccount shop/Bad_Name: metadata.name: must be a DNS-1123 subdomain',
  },
  {
    description: 'service port out of range, in document 2',
    files: {
      'shop.yaml':
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 70000}]}\n',
    },
    error: 'shop.yaml doc 2 Service shop/web: spec.ports[0].port: must be 1-65535',
  },
  {
    description: 'port of the wrong type',
    files: {
      's.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: "80"}]}\n',
    },
    error: 's.yaml doc 1 Service shop/web: spec.ports[0].port: must be a number, got string "80"',
  },
  {
    description: 'invalid cluster IP',
    files: {
      's.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: 10.96.0.300}\n',
    },
    error: 's.yaml doc 1 Service shop/web: spec.clusterIP: must be an IPv4 or IPv6 address, or None',
  },
  {
    description: 'two unnamed ports',
    files: {
      's.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}, {port: 81}]}\n',
    },
    error: 's.yaml doc 1 Service shop/web: spec.ports[0].name: required when a Service has several ports',
  },
  {
    description: 'duplicate cluster IP',
    files: {
      's.yaml':
        'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {clusterIP: 10.96.0.1}\n',
    },
    error:
      's.yaml doc 1 Service shop/web: spec.clusterIP: cluster IP 10.96.0.1 is already used by Service shop/cart',
  },
  {
    description: 'invalid pod IP',
    files: {
      'p.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {nodeName: node-1}\nstatus: {podIP: not-an-ip}\n',
    },
    error: 'p.yaml doc 1 Pod shop/p: status.podIP: must be an IPv4 or IPv6 address',
  },
  {
    description: 'invalid label key',
    files: {
      'sa.yaml':
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: shop, labels: {"-bad": v}}\n',
    },
    error:
      'sa.yaml doc 1 ServiceAccount shop/x: metadata.labels["-bad"]: label key "-bad": name must be 1-63 characters',
  },
  {
    description: 'invalid label value',
    files: {
      'sa.yaml':
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: shop, labels: {app: "a b"}}\n',
    },
    error:
      'sa.yaml doc 1 ServiceAccount shop/x: metadata.labels.app: label value "a b" must be at most 63 characters',
  },
  {
    description: 'invalid dataplane-mode value',
    files: {
      'ns.yaml':
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: web, labels: {ambit.dev/dataplane-mode: sidecar}}\n',
    },
    error:
      'ns.yaml doc 1 Namespace web: metadata.labels["ambit.dev/dataplane-mode"]: must be one of ambient, none',
  },
  {
    description: 'invalid CIDR in an AuthorizationPolicy',
    files: {
      'ap.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  rules: [{from: [{source: {ipBlocks: [10.0.0.0/33]}}]}]\n',
    },
    error:
      'ap.yaml doc 1 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.ipBlocks[0]: must be an IP address or CIDR (e.g. 10.0.0.0/8)',
  },
  {
    description: 'misspelt policy field',
    files: {
      'ap.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  rules: [{from: [{source: {principles: [x]}}]}]\n',
    },
    error:
      'ap.yaml doc 1 AuthorizationPolicy shop/p: spec.rules[0].from[0].source: unknown field "principles"',
  },
  {
    description: 'bad policy action',
    files: {
      'ap.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec: {action: PERMIT}\n',
    },
    error:
      'ap.yaml doc 1 AuthorizationPolicy shop/p: spec.action: must be one of "ALLOW", "DENY", "AUDIT", "CUSTOM", got "PERMIT"',
  },
  {
    description: 'bad PeerAuthentication mode',
    files: {
      'pa.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: shop}\nspec: {mtls: {mode: STRICTER}}\n',
    },
    error:
      'pa.yaml doc 1 PeerAuthentication shop/p: spec.mtls.mode: must be one of "UNSET", "STRICT", "PERMISSIVE", "DISABLE", got "STRICTER"',
  },
  {
    description: 'duplicate names across files',
    files: { 'dup.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: cart, namespace: shop}\n' },
    error:
      'dup.yaml doc 1 ServiceAccount shop/cart: metadata.name: duplicate ServiceAccount shop/cart (first defined in base.yaml doc 3)',
  },
  {
    description: 'pod in a missing namespace',
    files: {
      'p.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ghost}\nspec: {nodeName: node-1}\n',
    },
    error:
      'p.yaml doc 1 Pod ghost/p: metadata.namespace: namespace "ghost" does not exist (declare a Namespace ghost)',
  },
  {
    description: "pod's missing service account",
    files: {
      'p.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {nodeName: node-1, serviceAccountName: ghost}\n',
    },
    error: 'p.yaml doc 1 Pod shop/p: spec.serviceAccountName: ServiceAccount shop/ghost does not exist',
  },
  {
    description: "pod's missing node",
    files: {
      'p.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {nodeName: node-9}\n',
    },
    error: 'p.yaml doc 1 Pod shop/p: spec.nodeName: Node node-9 does not exist',
  },
  {
    description: 'use-waypoint to a missing Gateway',
    files: {
      'p.yaml':
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {ambit.dev/use-waypoint: ghost}}\nspec: {nodeName: node-1}\n',
    },
    error:
      'p.yaml doc 1 Pod shop/p: metadata.labels["ambit.dev/use-waypoint"]: waypoint shop/ghost does not exist (no Gateway of class ambit-waypoint named ghost in namespace shop)',
  },
  {
    description: 'HTTPRoute parentRef to a missing Service',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: "", kind: Service, name: ghost}]\n',
    },
    error: 'r.yaml doc 1 HTTPRoute shop/r: spec.parentRefs[0]: Service shop/ghost does not exist',
  },
  {
    description: 'HTTPRoute backendRef to a missing Service',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: "", kind: Service, name: cart}]\n  rules: [{backendRefs: [{name: cart-v2, port: 80}]}]\n',
    },
    error: 'r.yaml doc 1 HTTPRoute shop/r: spec.rules[0].backendRefs[0]: Service shop/cart-v2 does not exist',
  },
  {
    description: 'HTTPRoute backendRef to a Service without port',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: "", kind: Service, name: cart}]\n  rules: [{backendRefs: [{name: cart}]}]\n',
    },
    error:
      'r.yaml doc 1 HTTPRoute shop/r: spec.rules[0].backendRefs[0].port: required when the backend is a Service (Gateway API)',
  },
  {
    description: 'HTTPRoute parentRef to a port the Service does not have',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: "", kind: Service, name: cart, port: 8080}]\n',
    },
    error:
      'r.yaml doc 1 HTTPRoute shop/r: spec.parentRefs[0].port: Service shop/cart has no port 8080 (it has 80)',
  },
  {
    description: 'GRPCRoute parentRef to a missing Gateway',
    files: {
      'g.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: shop}\nspec:\n  parentRefs: [{name: ghost}]\n',
    },
    error: 'g.yaml doc 1 GRPCRoute shop/g: spec.parentRefs[0]: Gateway shop/ghost does not exist',
  },
  {
    description: 'HTTPRoute filter without its field',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  rules: [{filters: [{type: RequestHeaderModifier}]}]\n',
    },
    error:
      'r.yaml doc 1 HTTPRoute shop/r: spec.rules[0].filters[0].requestHeaderModifier: required when type is RequestHeaderModifier',
  },
  {
    description: 'retry code out of range',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  rules: [{retry: {attempts: 3, codes: [200]}}]\n',
    },
    error: 'r.yaml doc 1 HTTPRoute shop/r: spec.rules[0].retry.codes[0]: must be 400-599',
  },
  {
    description: 'bad timeout duration',
    files: {
      'r.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: shop}\nspec:\n  rules: [{timeouts: {request: 10 seconds}}]\n',
    },
    error:
      'r.yaml doc 1 HTTPRoute shop/r: spec.rules[0].timeouts.request: must be a duration like 500ms, 10s, 1m or 1h30m',
  },
  {
    description: 'EndpointSlice for a missing Service',
    files: {
      'e.yaml':
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: shop, labels: {kubernetes.io/service-name: ghost}}\naddressType: IPv4\nendpoints: [{addresses: [10.1.0.9]}]\n',
    },
    error:
      'e.yaml doc 1 EndpointSlice shop/e: metadata.labels["kubernetes.io/service-name"]: Service shop/ghost does not exist',
  },
  {
    description: 'waypoint Gateway with the wrong listener',
    files: {
      'gw.yaml':
        'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp2, namespace: shop}\nspec:\n  gatewayClassName: ambit-waypoint\n  listeners: [{name: mesh, port: 15009, protocol: HBONE}]\n',
    },
    error:
      'gw.yaml doc 1 Gateway shop/wp2: spec.listeners: a Gateway of class ambit-waypoint must have exactly the listener {name: mesh, port: 15008, protocol: HBONE}',
  },
  {
    description: 'Node without InternalIP',
    files: {
      'n.yaml':
        'apiVersion: v1\nkind: Node\nmetadata: {name: node-2}\nstatus: {addresses: [{type: Hostname, address: n2}]}\n',
    },
    error: 'n.yaml doc 1 Node node-2: status.addresses: needs an InternalIP address',
  },
  {
    description: 'namespace on a cluster-scoped kind',
    files: {
      'n.yaml':
        'apiVersion: v1\nkind: Node\nmetadata: {name: node-2, namespace: shop}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.2}]}\n',
    },
    error: 'n.yaml doc 1 Node node-2: metadata.namespace: not allowed: Node is cluster-scoped',
  },
  {
    description: 'TrafficPolicy percent out of range and missing target',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: ghost}]\n  outlierDetection: {maxEjectionPercent: 150}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.outlierDetection.maxEjectionPercent: must be 0-100',
  },
  {
    description: 'TrafficPolicy for a missing Service',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: ghost}]\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.targetRefs[0]: Service shop/ghost does not exist',
  },
  {
    description: 'fault abort without a status',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  fault: {abort: {percentage: {value: 10}}}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.fault.abort: needs exactly one of httpStatus or grpcStatus',
  },
  {
    description: 'TrafficPolicy loadBalancer with both simple and consistentHash',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  loadBalancer: {simple: RANDOM, consistentHash: {httpHeaderName: x-user}}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.loadBalancer: needs exactly one of simple or consistentHash',
  },
  {
    description: 'TrafficPolicy consistentHash with neither header nor cookie',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  loadBalancer: {consistentHash: {}}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.loadBalancer.consistentHash: needs exactly one of httpHeaderName or httpCookie',
  },
  {
    description: 'TrafficPolicy consistentHash cookie without a name',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  loadBalancer: {consistentHash: {httpCookie: {name: ""}}}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.loadBalancer.consistentHash.httpCookie.name: must not be empty',
  },
  {
    description: 'TrafficPolicy retry without attempts',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {retryOn: 5xx}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.attempts: required',
  },
  {
    description: 'TrafficPolicy retry with negative attempts',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: -1}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.attempts: must be >= 0',
  },
  {
    description: 'TrafficPolicy retry with an unknown retryOn condition',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, retryOn: "5xx,retriable-headers"}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.retry.retryOn: unknown retry condition "retriable-headers"',
  },
  {
    description: 'TrafficPolicy retry with a status code out of range',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, retriableStatusCodes: [503, 600]}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.retriableStatusCodes[1]: must be 100-599',
  },
  {
    description: 'TrafficPolicy retry backoff with a zero base interval',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, backoff: {baseInterval: 0ms}}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.backoff.baseInterval: must be greater than 0',
  },
  {
    description: 'TrafficPolicy retry backoff max below base',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, backoff: {baseInterval: 1s, maxInterval: 100ms}}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.backoff.maxInterval: must be at least baseInterval',
  },
  {
    description: 'TrafficPolicy retry with a bad perTryTimeout',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, perTryTimeout: soon}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry.perTryTimeout: must be a duration',
  },
  {
    description: 'TrafficPolicy retry with an unknown field',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  retry: {attempts: 1, retryRemoteLocalities: true}\n',
    },
    error: 't.yaml doc 1 TrafficPolicy shop/t: spec.retry: unknown field "retryRemoteLocalities"',
  },
  {
    description: 'TrafficPolicy fault abort with an unknown gRPC status',
    files: {
      't.yaml':
        'apiVersion: networking.ambit.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: t, namespace: shop}\nspec:\n  targetRefs: [{group: "", kind: Service, name: cart}]\n  fault: {abort: {grpcStatus: BROKEN}}\n',
    },
    error:
      't.yaml doc 1 TrafficPolicy shop/t: spec.fault.abort.grpcStatus: must be a gRPC status name (UNAVAILABLE) or number 0-16',
  },
  {
    description: 'AuthorizationPolicy with selector and targetRefs',
    files: {
      'ap.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  selector: {matchLabels: {app: cart}}\n  targetRefs: [{group: "", kind: Service, name: cart}]\n',
    },
    error:
      'ap.yaml doc 1 AuthorizationPolicy shop/p: spec.selector: selector and targetRefs are mutually exclusive',
  },
  {
    description: 'PeerAuthentication portLevelMtls without selector',
    files: {
      'pa.yaml':
        'apiVersion: security.ambit.dev/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: shop}\nspec: {portLevelMtls: {"8080": {mode: DISABLE}}}\n',
    },
    error:
      'pa.yaml doc 1 PeerAuthentication shop/p: spec.portLevelMtls: only allowed with a workload selector (as in Istio)',
  },
];

describe('validateConfig rejects malformed input, naming the place', () => {
  it('has a case for every accepted kind, naming a resource of that kind', () => {
    // Measured against the kind registry, not against the table's own size: a new kind without a
    // malformed-input case fails here.
    const named = (kind: string) =>
      CASES.some(({ error }) => new RegExp(`^\\S+ doc \\d+ ${kind} `).test(error));
    expect(Object.keys(RESOURCE_KINDS).filter((kind) => !named(kind))).toEqual([]);
  });

  it.each(CASES)('$description', ({ files, error }) => {
    const errors = run(files);
    expect(
      errors.some((e) => e.startsWith(error)),
      `expected an error starting with\n  ${error}\ngot\n  ${errors.join('\n  ')}`,
    ).toBe(true);
  });

  it('collects every error of a change, not only the first', () => {
    const all: Record<string, string> = {};
    CASES.forEach((c, i) => Object.entries(c.files).forEach(([f, text]) => (all[`${i}-${f}`] = text)));
    const errors = run(all);
    expect(errors.length).toBeGreaterThanOrEqual(20);
  });
});
