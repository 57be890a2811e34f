// TrafficPolicy (networking.ambit.dev/v1alpha1): resilience settings for a Service, enforced by its
// waypoint. Fields follow Istio's DestinationRule trafficPolicy (connectionPool, outlierDetection,
// loadBalancer) plus retries shaped like VirtualService HTTPRetry, a retry budget (Envoy's) and fault
// injection shaped like VirtualService fault.
import { z } from 'zod';
import { objectMeta } from './object-meta.js';
import { duration, durationToMs } from './values.js';

const percent = z.number().min(0, 'must be 0-100').max(100, 'must be 0-100');
const positiveInt = z.number().int('must be an integer').min(1, 'must be >= 1');
const nonNegativeInt = z.number().int('must be an integer').min(0, 'must be >= 0');

/** gRPC status code names (grpc/doc/statuscodes.md), in code order: index = code. */
export const GRPC_STATUS_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
const GRPC_STATUS_NAMES: ReadonlySet<string> = new Set(GRPC_STATUS_CODES);

/**
 * The retry conditions `spec.retry.retryOn` accepts (Envoy's x-envoy-retry-on and
 * x-envoy-retry-grpc-on names, as Istio's VirtualService retries take them). An HTTP status code
 * (`503`) may stand in the list too, as in Istio: it joins retriableStatusCodes.
 */
export const RETRY_ON_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'refused-stream',
  'retriable-4xx',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;
export type RetryOnCondition = (typeof RETRY_ON_CONDITIONS)[number];
const RETRY_ON: ReadonlySet<string> = new Set(RETRY_ON_CONDITIONS);
const STATUS_CODE = /^[1-5][0-9][0-9]$/;

const retryOn = z.string().superRefine((list, ctx) => {
  for (const raw of list.split(',')) {
    const c = raw.trim();
    if (!RETRY_ON.has(c) && !STATUS_CODE.test(c)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown retry condition "${c}" (one of ${RETRY_ON_CONDITIONS.join(', ')}, or an HTTP status code)`,
      });
    }
  }
});

// Istio's HTTPRetry plus Envoy's backoff and Ambit's retryNonIdempotent (only idempotent methods are
// retried once a request was sent, unless this says otherwise).
const retry = z
  .strictObject({
    attempts: nonNegativeInt,
    perTryTimeout: duration.optional(),
    retryOn: retryOn.optional(),
    retriableStatusCodes: z
      .array(z.number().int('must be an integer').min(100, 'must be 100-599').max(599, 'must be 100-599'))
      .optional(),
    backoff: z
      .strictObject({
        baseInterval: duration.refine((d) => durationToMs(d) > 0, 'must be greater than 0'),
        maxInterval: duration.optional(),
      })
      .refine(
        (b) => b.maxInterval === undefined || durationToMs(b.maxInterval) >= durationToMs(b.baseInterval),
        { message: 'must be at least baseInterval', path: ['maxInterval'] },
      )
      .optional(),
    retryNonIdempotent: z.boolean().optional(),
  })
  .optional();

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
    // Istio's LoadBalancerSettings: `simple` or `consistentHash` (on one header or one cookie), one of them
    loadBalancer: z
      .strictObject({
        simple: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH']).optional(),
        consistentHash: z
          .strictObject({
            httpHeaderName: z.string().min(1, 'must not be empty').optional(),
            httpCookie: z.strictObject({ name: z.string().min(1, 'must not be empty') }).optional(),
          })
          .refine(
            (h) => (h.httpHeaderName === undefined) !== (h.httpCookie === undefined),
            'needs exactly one of httpHeaderName or httpCookie',
          )
          .optional(),
      })
      .refine(
        (lb) => (lb.simple === undefined) !== (lb.consistentHash === undefined),
        'needs exactly one of simple or consistentHash',
      )
      .optional(),
    retry,
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
            grpcStatus: z
              .string()
              .refine(
                (g) => GRPC_STATUS_NAMES.has(g) || /^([0-9]|1[0-6])$/.test(g),
                'must be a gRPC status name (UNAVAILABLE) or number 0-16',
              )
              .optional(),
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
