// The retry decision as a table: each case is a spec, a method and the outcomes of successive
// attempts, with the verdict expected after each. Randomness is fixed, so delays are exact.
import { describe, expect, it } from 'vitest';
import type { MeshRetryPolicy } from '../../core/model/mesh.js';
import {
  DEFAULT_RETRY,
  isIdempotent,
  retrySpecOf,
  RetryState,
  type AttemptOutcome,
  type RetrySpec,
  type RetryVerdict,
} from './retry-policy.js';

const POLICY: MeshRetryPolicy = {
  attempts: 3,
  retryOn: ['5xx', 'reset', 'connect-failure', 'refused-stream', 'unavailable'],
  retriableStatusCodes: [],
  baseIntervalMs: 25,
  maxIntervalMs: 250,
  retryNonIdempotent: false,
};
const spec = (p: Partial<MeshRetryPolicy> = {}): RetrySpec => retrySpecOf(undefined, { ...POLICY, ...p });

const ok: AttemptOutcome = { kind: 'response', status: 200 };
const r = (status: number, grpcStatus?: string): AttemptOutcome =>
  grpcStatus === undefined ? { kind: 'response', status } : { kind: 'response', status, grpcStatus };
const connectFailure: AttemptOutcome = { kind: 'connect-failure' };
const resetUnsent: AttemptOutcome = { kind: 'reset', requestSent: false };
const resetSent: AttemptOutcome = { kind: 'reset', requestSent: true };
const timeoutSent: AttemptOutcome = { kind: 'timeout', requestSent: true };
const retry = (delayMs: number): RetryVerdict => ({ retry: true, delayMs });
const stop = (why: Extract<RetryVerdict, { retry: false }>['why']): RetryVerdict => ({ retry: false, why });

interface Case {
  description: string;
  spec: RetrySpec;
  method?: string;
  steps: [AttemptOutcome, RetryVerdict][];
}

// random() = 0 gives the backoff ceiling: base x 2^n, capped at max
const CASES: Case[] = [
  { description: 'a 200 is success', spec: spec(), steps: [[ok, stop('success')]] },
  {
    description: 'a 404 is success (not a retry condition)',
    spec: spec(),
    steps: [[r(404), stop('success')]],
  },
  {
    description: '5xx: 503 retried with exponential backoff until attempts run out',
    spec: spec(),
    steps: [
      [r(503), retry(25)],
      [r(500), retry(50)],
      [r(599), retry(100)],
      [r(503), stop('attempts-exhausted')],
    ],
  },
  {
    description: 'backoff capped at maxInterval',
    spec: spec({ attempts: 5, baseIntervalMs: 100, maxIntervalMs: 250 }),
    steps: [
      [r(502), retry(100)],
      [r(502), retry(200)],
      [r(502), retry(250)],
      [r(502), retry(250)],
    ],
  },
  {
    description: 'a retry that then succeeds',
    spec: spec(),
    steps: [
      [r(503), retry(25)],
      [ok, stop('success')],
    ],
  },
  {
    description: 'gateway-error: 502-504 only',
    spec: spec({ retryOn: ['gateway-error'] }),
    steps: [
      [r(504), retry(25)],
      [r(500), stop('not-retriable')],
    ],
  },
  {
    description: 'retriable status codes without 5xx',
    spec: spec({ retryOn: [], retriableStatusCodes: [429] }),
    steps: [
      [r(429), retry(25)],
      [r(503), stop('not-retriable')],
    ],
  },
  {
    description: 'retriable-4xx is 409',
    spec: spec({ retryOn: ['retriable-4xx'] }),
    steps: [
      [r(409), retry(25)],
      [r(400), stop('success')],
    ],
  },
  {
    description: 'POST and a 503: not retried (non-idempotent)',
    spec: spec(),
    method: 'POST',
    steps: [[r(503), stop('non-idempotent')]],
  },
  {
    description: 'POST and a 503 with retryNonIdempotent: retried',
    spec: spec({ retryNonIdempotent: true }),
    method: 'POST',
    steps: [[r(503), retry(25)]],
  },
  {
    description: 'POST and a connect failure: retried (nothing was sent)',
    spec: spec(),
    method: 'POST',
    steps: [[connectFailure, retry(25)]],
  },
  {
    description: 'POST and a reset before send: retried',
    spec: spec(),
    method: 'POST',
    steps: [[resetUnsent, retry(25)]],
  },
  {
    description: 'POST and a reset after send: not retried',
    spec: spec(),
    method: 'POST',
    steps: [[resetSent, stop('non-idempotent')]],
  },
  {
    description: 'PUT and a reset after send: retried (idempotent)',
    spec: spec(),
    method: 'PUT',
    steps: [[resetSent, retry(25)]],
  },
  {
    description: 'per-try timeout after send on GET: retried under reset',
    spec: spec({ retryOn: ['reset'] }),
    steps: [[timeoutSent, retry(25)]],
  },
  {
    description: 'per-try timeout with only connect-failure: not retriable',
    spec: spec({ retryOn: ['connect-failure'] }),
    steps: [[timeoutSent, stop('not-retriable')]],
  },
  {
    description: 'refused-stream only: a reset after send is request-sent',
    spec: spec({ retryOn: ['refused-stream'] }),
    steps: [
      [resetUnsent, retry(25)],
      [resetSent, stop('request-sent')],
    ],
  },
  {
    description: 'gRPC UNAVAILABLE (14) on POST: retried, the status is listed',
    spec: spec(),
    method: 'POST',
    steps: [
      [r(200, '14'), retry(25)],
      [r(200, '0'), stop('success')],
    ],
  },
  {
    description: 'gRPC INTERNAL not listed: not retriable',
    spec: spec(),
    method: 'POST',
    steps: [[r(200, '13'), stop('not-retriable')]],
  },
  {
    description: 'gRPC names: cancelled, deadline-exceeded, resource-exhausted, internal',
    spec: spec({
      retryOn: ['cancelled', 'deadline-exceeded', 'resource-exhausted', 'internal'],
      attempts: 4,
    }),
    method: 'POST',
    steps: [
      [r(200, '1'), retry(25)],
      [r(200, '4'), retry(50)],
      [r(200, '8'), retry(100)],
      [r(200, '13'), retry(200)],
    ],
  },
  {
    description: 'attempts 0: nothing is retried',
    spec: spec({ attempts: 0 }),
    steps: [[r(503), stop('attempts-exhausted')]],
  },
  {
    description: 'default: one immediate retry of a reset before send, even for POST',
    spec: DEFAULT_RETRY,
    method: 'POST',
    steps: [
      [resetUnsent, retry(0)],
      [resetUnsent, stop('attempts-exhausted')],
    ],
  },
  {
    description: 'default: a connect failure retried once',
    spec: DEFAULT_RETRY,
    steps: [[connectFailure, retry(0)]],
  },
  {
    description: 'default: a reset after send is not retried, even for GET',
    spec: DEFAULT_RETRY,
    steps: [[resetSent, stop('request-sent')]],
  },
  {
    description: 'default: a 503 is not retried',
    spec: DEFAULT_RETRY,
    steps: [[r(503), stop('not-retriable')]],
  },
  {
    description: 'default: a per-try timeout is not retried',
    spec: DEFAULT_RETRY,
    steps: [[timeoutSent, stop('not-retriable')]],
  },
];

describe('RetryState', () => {
  it.each(CASES)('$description', ({ spec: s, method, steps }) => {
    const state = new RetryState(s, method ?? 'GET', () => 0);
    for (const [outcome, want] of steps) expect(state.next(outcome)).toEqual(want);
  });

  it('jitter: equal jitter keeps each delay in the upper half of its ceiling, never below base', () => {
    const s = spec({ attempts: 3 });
    const high = new RetryState(s, 'GET', () => 0.999);
    expect(high.next(r(503))).toEqual(retry(25)); // never below the base
    expect(high.next(r(503))).toEqual(retry(25)); // 50 -> 25..50
    expect(high.next(r(503))).toEqual(retry(50)); // 100 -> 50..100
    const mid = new RetryState(s, 'GET', () => 0.5);
    expect([mid.next(r(503)), mid.next(r(503)), mid.next(r(503))]).toEqual([retry(25), retry(38), retry(75)]);
  });

  it('counts retries granted', () => {
    const state = new RetryState(spec(), 'GET', () => 0);
    state.next(r(503));
    state.next(r(503));
    state.next(ok);
    expect(state.retried).toBe(2);
  });
});

describe('retrySpecOf', () => {
  it('neither route nor policy: the default', () => {
    expect(retrySpecOf(undefined, undefined)).toBe(DEFAULT_RETRY);
  });

  it.each<{
    description: string;
    route?: Parameters<typeof retrySpecOf>[0];
    policy?: MeshRetryPolicy;
    want: RetrySpec;
  }>([
    {
      description: 'policy only: its values',
      policy: { ...POLICY, perTryTimeoutMs: 500, retriableStatusCodes: [429] },
      want: {
        attempts: 3,
        retryOn: new Set(POLICY.retryOn),
        statusCodes: new Set([429]),
        backoff: { baseMs: 25, maxMs: 250 },
        retryNonIdempotent: false,
        perTryTimeoutMs: 500,
      },
    },
    {
      description: 'route only with codes: connection errors plus the codes, Envoy defaults',
      route: { codes: [500, 503] },
      want: {
        attempts: 1,
        retryOn: new Set(['connect-failure', 'reset', 'refused-stream']),
        statusCodes: new Set([500, 503]),
        backoff: { baseMs: 25, maxMs: 250 },
        retryNonIdempotent: false,
      },
    },
    {
      description: 'route only with attempts and backoff: the backoff is the base, max 10x',
      route: { attempts: 2, backoffMs: 100 },
      want: {
        attempts: 2,
        retryOn: new Set(['connect-failure', 'reset', 'refused-stream']),
        statusCodes: new Set(),
        backoff: { baseMs: 100, maxMs: 1000 },
        retryNonIdempotent: false,
      },
    },
    {
      description: 'both: route attempts and codes win, policy gRPC conditions and retryNonIdempotent stay',
      route: { attempts: 5, codes: [502] },
      policy: {
        ...POLICY,
        retryOn: ['5xx', 'gateway-error', 'unavailable'],
        retriableStatusCodes: [429],
        retryNonIdempotent: true,
      },
      want: {
        attempts: 5,
        retryOn: new Set(['unavailable', 'connect-failure', 'reset', 'refused-stream']),
        statusCodes: new Set([502]),
        backoff: { baseMs: 25, maxMs: 250 },
        retryNonIdempotent: true,
      },
    },
    {
      description: 'both, route without codes: the policy conditions stay, route attempts win',
      route: { attempts: 1 },
      policy: { ...POLICY, retryOn: ['gateway-error'], baseIntervalMs: 10, maxIntervalMs: 40 },
      want: {
        attempts: 1,
        retryOn: new Set(['gateway-error', 'connect-failure', 'reset', 'refused-stream']),
        statusCodes: new Set(),
        backoff: { baseMs: 10, maxMs: 40 },
        retryNonIdempotent: false,
      },
    },
  ])('$description', ({ route, policy, want }) => {
    expect(retrySpecOf(route, policy)).toEqual(want);
  });
});

describe('isIdempotent', () => {
  it.each([
    ['GET', true],
    ['HEAD', true],
    ['OPTIONS', true],
    ['TRACE', true],
    ['PUT', true],
    ['DELETE', true],
    ['POST', false],
    ['PATCH', false],
    ['CONNECT', false],
    ['get', false],
  ])('%s: %s', (method, want) => {
    expect(isIdempotent(method)).toBe(want);
  });
});
