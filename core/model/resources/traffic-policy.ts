// TrafficPolicy (networking.ambit.dev/v1alpha1): resilience settings for a Service, enforced by its
// waypoint. Fields follow Istio's DestinationRule trafficPolicy (connectionPool, outlierDetection,
// loadBalancer) plus a retry budget (Envoy's) and fault injection shaped like VirtualService fault.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { duration } from './values.js';

const percent = z.number().min(0, 'must be 0-100').max(100, 'must be 0-100');
const positiveInt = z.number().int('must be an integer').min(1, 'must be >= 1');
const nonNegativeInt = z.number().int('must be an integer').min(0, 'must be >= 0');

export const trafficPolicySchema = z.looseObject({
  apiVersion: z.literal('networking.ambit.dev/v1alpha1'),
  kind: z.literal('TrafficPolicy'),
  metadata: objectMeta,
  spec: z.strictObject({
    targetRefs: z
      .array(
        z.strictObject({
          group: z.literal('', { error: 'must be "" (core: Service)' }),
          kind: z.literal('Service', { error: 'must be Service' }),
          name: z.string().min(1, 'must not be empty'),
        }),
      )
      .min(1, 'needs at least one Service'),
    connectionPool: z
      .strictObject({
        tcp: z
          // idleTimeout: Istio's TCPSettings.idleTimeout; the ztunnel closes a connection quiet for
          // this long (unset: never, unlike Istio's 1 h default, which users report as spurious resets)
          .strictObject({
            maxConnections: positiveInt.optional(),
            connectTimeout: duration.optional(),
            idleTimeout: duration.optional(),
          })
          .optional(),
        http: z
          .strictObject({
            http1MaxPendingRequests: positiveInt.optional(),
            http2MaxRequests: positiveInt.optional(),
            maxRequestsPerConnection: nonNegativeInt.optional(),
            maxRetries: nonNegativeInt.optional(),
            idleTimeout: duration.optional(),
          })
          .optional(),
      })
      .optional(),
    outlierDetection: z
      .strictObject({
        consecutive5xxErrors: nonNegativeInt.optional(),
        consecutiveGatewayErrors: nonNegativeInt.optional(),
        interval: duration.optional(),
        baseEjectionTime: duration.optional(),
        maxEjectionPercent: percent.optional(),
        minHealthPercent: percent.optional(),
      })
      .optional(),
    loadBalancer: z
      .strictObject({ simple: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH']) })
      .optional(),
    retryBudget: z
      .strictObject({ percent: percent, minRetryConcurrency: nonNegativeInt.optional() })
      .optional(),
    fault: z
      .strictObject({
        delay: z
          .strictObject({ percentage: z.strictObject({ value: percent }).optional(), fixedDelay: duration })
          .optional(),
        abort: z
          .strictObject({
            percentage: z.strictObject({ value: percent }).optional(),
            httpStatus: z.number().int().min(200, 'must be 200-599').max(599, 'must be 200-599').optional(),
            grpcStatus: z.string().optional(),
          })
          .refine(
            (a) => (a.httpStatus === undefined) !== (a.grpcStatus === undefined),
            'needs exactly one of httpStatus or grpcStatus',
          )
          .optional(),
      })
      .optional(),
  }),
});
export type TrafficPolicy = z.infer<typeof trafficPolicySchema>;
