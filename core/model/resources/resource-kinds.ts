// The registry of config kinds the mesh accepts: kind -> apiVersions, scope and zod schema. An
// unknown kind or apiVersion is an error; nothing is silently dropped.
import type { z } from 'zod';
import { namespaceSchema, type Namespace } from './namespace.js';
import { podSchema, type Pod } from './pod.js';
import { serviceSchema, type Service } from './service.js';
import { serviceAccountSchema, type ServiceAccount } from './service-account.js';
import { nodeSchema, type Node } from './node.js';
import { endpointSliceSchema, type EndpointSlice } from './endpoint-slice.js';
import { gatewaySchema, type Gateway } from './gateway.js';
import { httpRouteSchema, type HttpRoute } from './http-route.js';
import { grpcRouteSchema, type GrpcRoute } from './grpc-route.js';
import { authorizationPolicySchema, type AuthorizationPolicy } from './authorization-policy.js';
import { peerAuthenticationSchema, type PeerAuthentication } from './peer-authentication.js';
import { trafficPolicySchema, type TrafficPolicy } from './traffic-policy.js';

/** Every accepted resource, by kind. */
export interface ResourcesByKind {
  Namespace: Namespace;
  Pod: Pod;
  Service: Service;
  ServiceAccount: ServiceAccount;
  Node: Node;
  EndpointSlice: EndpointSlice;
  Gateway: Gateway;
  HTTPRoute: HttpRoute;
  GRPCRoute: GrpcRoute;
  AuthorizationPolicy: AuthorizationPolicy;
  PeerAuthentication: PeerAuthentication;
  TrafficPolicy: TrafficPolicy;
}
export type ResourceKind = keyof ResourcesByKind;

interface KindInfo {
  apiVersions: readonly string[];
  namespaced: boolean;
  schema: z.ZodType;
  /** Said when the apiVersion is wrong, e.g. an Istio group that maps to ours. */
  hint?: string;
}

export const RESOURCE_KINDS: { readonly [K in ResourceKind]: KindInfo } = {
  Namespace: { apiVersions: ['v1'], namespaced: false, schema: namespaceSchema },
  Node: { apiVersions: ['v1'], namespaced: false, schema: nodeSchema },
  ServiceAccount: { apiVersions: ['v1'], namespaced: true, schema: serviceAccountSchema },
  Pod: { apiVersions: ['v1'], namespaced: true, schema: podSchema },
  Service: { apiVersions: ['v1'], namespaced: true, schema: serviceSchema },
  EndpointSlice: { apiVersions: ['discovery.k8s.io/v1'], namespaced: true, schema: endpointSliceSchema },
  Gateway: {
    apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
    namespaced: true,
    schema: gatewaySchema,
  },
  HTTPRoute: {
    apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
    namespaced: true,
    schema: httpRouteSchema,
  },
  GRPCRoute: { apiVersions: ['gateway.networking.k8s.io/v1'], namespaced: true, schema: grpcRouteSchema },
  AuthorizationPolicy: {
    apiVersions: ['security.ambit.dev/v1'],
    namespaced: true,
    schema: authorizationPolicySchema,
    hint: 'Istio policies port by changing apiVersion to security.ambit.dev/v1',
  },
  PeerAuthentication: {
    apiVersions: ['security.ambit.dev/v1'],
    namespaced: true,
    schema: peerAuthenticationSchema,
    hint: 'Istio policies port by changing apiVersion to security.ambit.dev/v1',
  },
  TrafficPolicy: {
    apiVersions: ['networking.ambit.dev/v1alpha1'],
    namespaced: true,
    schema: trafficPolicySchema,
  },
};

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && Object.hasOwn(RESOURCE_KINDS, kind);
}
