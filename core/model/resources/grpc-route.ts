// GRPCRoute (gateway.networking.k8s.io/v1), attached to a Service (GAMMA) or a Gateway.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import {
  backendRef,
  headerMatch,
  parentRef,
  routeFilter,
  routeRetry,
  routeTimeouts,
} from './gateway-api-common.js';

export const grpcRouteMatch = z.looseObject({
  method: z
    .looseObject({
      type: z.enum(['Exact', 'RegularExpression']).optional(),
      service: z.string().optional(),
      method: z.string().optional(),
    })
    .refine((m) => m.service !== undefined || m.method !== undefined, 'needs service or method')
    .optional(),
  headers: z.array(headerMatch).optional(),
});

export type GrpcRouteMatch = z.infer<typeof grpcRouteMatch>;

export const grpcRouteSchema = z.looseObject({
  apiVersion: z.enum(['gateway.networking.k8s.io/v1']),
  kind: z.literal('GRPCRoute'),
  metadata: objectMeta,
  spec: z.looseObject({
    parentRefs: z.array(parentRef).optional(),
    hostnames: z.array(z.string()).optional(),
    rules: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          matches: z.array(grpcRouteMatch).optional(),
          filters: z.array(routeFilter).optional(),
          backendRefs: z.array(backendRef).optional(),
          timeouts: routeTimeouts.optional(),
          retry: routeRetry.optional(),
        }),
      )
      .optional(),
  }),
});
export type GrpcRoute = z.infer<typeof grpcRouteSchema>;
