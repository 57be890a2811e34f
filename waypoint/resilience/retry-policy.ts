// The retry decision for one request: after each attempt, whether to try again and after how long.
// Conditions are Envoy's retry_on names (as Istio and TrafficPolicy spec.retry write them); the
// spec merges a Gateway API rule retry with the Service's TrafficPolicy retry. Pure: no timers, no
// sockets; the caller waits the delay (on its clock) and asks the retry budget before it retries.
import type { MeshRetryPolicy, MeshRouteRetry } from '../../core/model/mesh.js';
import { backoffDelay } from '../../core/policy/exponential-backoff.js';

/** How one attempt ended, as the upstream call classifies it. */
export type AttemptOutcome =
  | { kind: 'response'; status: number; grpcStatus?: string } // grpcStatus: numeric string from grpc-status
  | { kind: 'connect-failure' } // upstream never reached: nothing of the request was sent
  | { kind: 'reset'; requestSent: boolean } // stream/connection reset before a response head
  | { kind: 'timeout'; requestSent: boolean }; // per-try timeout

export interface RetrySpec {
  /** Retries after the first attempt. */
  attempts: number;
  /** Envoy retry_on names, plus `reset-before-send` (the default policy's only condition). */
  retryOn: ReadonlySet<string>;
  /** Response status codes retried whatever retryOn says (Gateway API codes, Istio retriableStatusCodes). */
  statusCodes: ReadonlySet<number>;
  backoff: { baseMs: number; maxMs: number };
  retryNonIdempotent: boolean;
  perTryTimeoutMs?: number;
}

/**
 * The policy without any route or TrafficPolicy retry (issue 9 §4): one immediate retry of a
 * request nothing of which reached the app — a reused keep-alive connection reset before the
 * request went out (the keep-alive race), or a connection that could not be made. Every method
 * qualifies, since the app saw nothing. No backoff: the race is no sign of overload.
 */
export const DEFAULT_RETRY: RetrySpec = {
  attempts: 1,
  retryOn: new Set(['reset-before-send']),
  statusCodes: new Set(),
  backoff: { baseMs: 0, maxMs: 0 },
  retryNonIdempotent: false,
};

/** Envoy's defaults where a route retry leaves them open: one retry, 25 ms base, max 10x base. */
const ENVOY_NUM_RETRIES = 1;
const ENVOY_BASE_INTERVAL_MS = 25;
/** A Gateway API route retry always covers connection errors (feature HTTPRouteRetryConnectionError). */
const CONNECTION_ERRORS = ['connect-failure', 'reset', 'refused-stream'] as const;
/** Conditions about response status codes: a route's `codes` replace these of the policy. */
const STATUS_CONDITIONS = ['5xx', 'gateway-error', 'retriable-4xx', 'retriable-status-codes'] as const;

/** gRPC retry_on names (x-envoy-retry-grpc-on) by grpc-status code. */
const GRPC_CONDITIONS: Readonly<Record<string, string>> = {
  '1': 'cancelled',
  '4': 'deadline-exceeded',
  '8': 'resource-exhausted',
  '13': 'internal',
  '14': 'unavailable',
};

/**
 * The spec for a request from its route rule's retry (Gateway API) and its Service's TrafficPolicy
 * retry; the route wins field by field where both set one:
 * - attempts: the route's, else the policy's, else Envoy's 1;
 * - conditions: the policy's retryOn and codes; a route adds the connection errors Gateway API
 *   requires, and its `codes`, when given, replace the policy's status conditions (5xx,
 *   gateway-error, retriable-4xx, its codes) but keep its gRPC ones;
 * - backoff: the route's `backoff` is the base (Gateway API: the minimum wait) with max 10x base;
 *   else the policy's; else 25 ms / 250 ms;
 * - retryNonIdempotent and perTryTimeoutMs: the policy's (a rule's timeouts.backendRequest is the
 *   caller's to apply and wins over perTryTimeoutMs).
 * Neither: DEFAULT_RETRY.
 */
export function retrySpecOf(
  route: MeshRouteRetry | undefined,
  policy: MeshRetryPolicy | undefined,
): RetrySpec {
  if (!route && !policy) return DEFAULT_RETRY;
  const retryOn = new Set<string>(policy?.retryOn ?? []);
  let statusCodes = new Set<number>(policy?.retriableStatusCodes ?? []);
  if (route) {
    for (const c of CONNECTION_ERRORS) retryOn.add(c);
    if (route.codes) {
      for (const c of STATUS_CONDITIONS) retryOn.delete(c);
      statusCodes = new Set(route.codes);
    }
  }
  const baseMs = route?.backoffMs ?? policy?.baseIntervalMs ?? ENVOY_BASE_INTERVAL_MS;
  const maxMs = route?.backoffMs === undefined ? (policy?.maxIntervalMs ?? baseMs * 10) : baseMs * 10;
  return {
    attempts: route?.attempts ?? policy?.attempts ?? ENVOY_NUM_RETRIES,
    retryOn,
    statusCodes,
    backoff: { baseMs, maxMs: Math.max(baseMs, maxMs) },
    retryNonIdempotent: policy?.retryNonIdempotent ?? false,
    ...(policy?.perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs: policy.perTryTimeoutMs }),
  };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** RFC 9110 §9.2.2's idempotent methods. Method names are case-sensitive (RFC 9110 §9.1). */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

export type RetryVerdict =
  | { retry: true; delayMs: number }
  | {
      retry: false;
      why: 'success' | 'attempts-exhausted' | 'not-retriable' | 'non-idempotent' | 'request-sent';
    };

/**
 * How an outcome meets the spec's conditions: `any-method` when it is retriable for every method
 * (nothing reached the app, or a gRPC status the service owner listed: gRPC calls are all POST and
 * its retry design leaves retry safety to the listed codes), `idempotent` when only for idempotent
 * methods (or retryNonIdempotent), `unsent-only` when it would be retriable had nothing been sent,
 * `no` otherwise.
 */
type Match = 'any-method' | 'idempotent' | 'unsent-only' | 'no';

function has(spec: RetrySpec, ...conditions: string[]): boolean {
  return conditions.some((c) => spec.retryOn.has(c));
}

function matchOf(spec: RetrySpec, o: AttemptOutcome): Match {
  switch (o.kind) {
    case 'response': {
      const s = o.status;
      const grpc = o.grpcStatus === undefined ? undefined : GRPC_CONDITIONS[o.grpcStatus];
      if (grpc !== undefined && has(spec, grpc)) return 'any-method';
      if (
        spec.statusCodes.has(s) ||
        (has(spec, '5xx') && s >= 500 && s <= 599) ||
        (has(spec, 'gateway-error') && s >= 502 && s <= 504) ||
        (has(spec, 'retriable-4xx') && s === 409)
      ) {
        return 'idempotent';
      }
      return 'no';
    }
    case 'connect-failure':
      return has(spec, 'connect-failure', 'reset', '5xx', 'gateway-error', 'reset-before-send')
        ? 'any-method'
        : 'no';
    case 'reset': {
      if (has(spec, 'reset', '5xx', 'gateway-error')) return o.requestSent ? 'idempotent' : 'any-method';
      if (has(spec, 'refused-stream', 'reset-before-send'))
        return o.requestSent ? 'unsent-only' : 'any-method';
      return 'no';
    }
    case 'timeout':
      if (has(spec, 'reset', '5xx', 'gateway-error')) return o.requestSent ? 'idempotent' : 'any-method';
      return 'no';
  }
}

function isSuccess(o: AttemptOutcome): boolean {
  return o.kind === 'response' && o.status < 500 && (o.grpcStatus === undefined || o.grpcStatus === '0');
}

/** The retry bookkeeping of one request: call next() after each attempt ends. */
export class RetryState {
  private retries = 0;
  private readonly idempotent: boolean;

  constructor(
    private readonly spec: RetrySpec,
    method: string,
    private readonly random: () => number,
  ) {
    this.idempotent = isIdempotent(method);
  }

  /** Retries granted so far. */
  get retried(): number {
    return this.retries;
  }

  /** After attempt n (0-based) ended with `outcome`: retry (after delayMs) or stop, and why. */
  next(outcome: AttemptOutcome): RetryVerdict {
    const match = matchOf(this.spec, outcome);
    switch (match) {
      case 'no':
        return { retry: false, why: isSuccess(outcome) ? 'success' : 'not-retriable' };
      case 'unsent-only':
        return { retry: false, why: 'request-sent' };
      case 'idempotent':
        if (!this.idempotent && !this.spec.retryNonIdempotent) return { retry: false, why: 'non-idempotent' };
        break;
      case 'any-method':
        break;
    }
    if (this.retries >= this.spec.attempts) return { retry: false, why: 'attempts-exhausted' };
    const { baseMs, maxMs } = this.spec.backoff;
    const delayMs = backoffDelay({ initialMs: baseMs, maxMs, factor: 2 }, this.retries, this.random());
    this.retries++;
    return { retry: true, delayMs };
  }
}
