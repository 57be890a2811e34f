// HTTPRoute (gateway.networking.k8s.io/v1), attached to a Service (GAMMA) or a Gateway.
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

const pathMatch = z
  .looseObject({
    type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(),
    value: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (
      (p.type ?? 'PathPrefix') !== 'RegularExpression' &&
      p.value !== undefined &&
      !p.value.startsWith('/')
    ) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must start with /' });
    }
  });

export const httpRouteMatch = z.looseObject({
  path: pathMatch.optional(),
  headers: z.array(headerMatch).optional(),
  queryParams: z.array(headerMatch).optional(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
});

export type HttpRouteMatch = z.infer<typeof httpRouteMatch>;

const httpRouteRule = z.looseObject({
  name: z.string().optional(),
  matches: z.array(httpRouteMatch).optional(),
  filters: z.array(routeFilter).optional(),
  backendRefs: z.array(backendRef).optional(),
  timeouts: routeTimeouts.optional(),
  retry: routeRetry.optional(),
});

export const httpRouteSchema = z.looseObject({
  apiVersion: z.enum(['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1']),
  kind: z.literal('HTTPRoute'),
  metadata: objectMeta,
  spec: z.looseObject({
    parentRefs: z.array(parentRef).optional(),
    hostnames: z.array(z.string()).optional(),
    rules: z.array(httpRouteRule).optional(),
  }),
});
export type HttpRoute = z.infer<typeof httpRouteSchema>;
