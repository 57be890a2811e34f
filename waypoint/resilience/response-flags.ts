// The Envoy response flags the waypoint puts in `response_flags` (metrics label, access log): one
// string-literal union, so a flag the lead writes is checked by the compiler. Names and meanings
// are Envoy's (access-log RESPONSE_FLAGS), so Istio dashboards and Kiali read them unchanged.

/**
 * RESPONSE_FLAGS — the flags the waypoint sets, Envoy's meaning in brackets:
 * - `-`    nothing went wrong (Istio's value for no flag).
 * - `UO`   upstream overflow: a connection-pool limit (pool-limits.ts) refused the request; HTTP 503.
 * - `URX`  the retry limit was reached (RetryVerdict why 'attempts-exhausted', or the retry budget said no)
 *          and the last attempt's failure is what the client gets.
 * - `UF`   upstream connection failure: the endpoint's node or the pod could not be reached; HTTP 503.
 * - `UT`   upstream request timeout (timeouts.request / backendRequest, per-try timeout); HTTP 504.
 * - `UH`   no healthy upstream: the Service has no ready endpoint (outlier ejection never empties
 *          a set: panic mode); HTTP 503.
 * - `UC`   upstream connection termination: reset before or during the response; HTTP 503 when
 *          nothing was sent to the client yet.
 * - `DC`   downstream connection termination: the client went away mid-request.
 * - `FI`   fault injection aborted the request (fault-injection.ts).
 * - `DI`   fault injection delayed the request.
 * - `NR`   no route: routes are attached and none matched; HTTP 404 (Gateway API).
 * - `DENY` L7 authorization refused the request; HTTP 403. Not an Envoy flag (Envoy writes `UAEX`
 *          for ext_authz and RBAC uses its own details); DESIGN §7 names `DENY` for policy refusals.
 * Rate limiting (`RL`) is not used: Ambit has no local rate limiter.
 */
export type ResponseFlag =
  '-' | 'UO' | 'URX' | 'UF' | 'UT' | 'UH' | 'UC' | 'DC' | 'FI' | 'DI' | 'NR' | 'DENY';

/** Every flag, in the order of the doc comment (for tests and metric pre-registration). */
export const RESPONSE_FLAGS: readonly ResponseFlag[] = [
  '-',
  'UO',
  'URX',
  'UF',
  'UT',
  'UH',
  'UC',
  'DC',
  'FI',
  'DI',
  'NR',
  'DENY',
];

/**
 * Several flags of one request (a delayed request that then timed out: `DI,UT`), joined the way
 * Envoy prints them; `-` when none.
 */
export function joinFlags(flags: readonly Exclude<ResponseFlag, '-'>[]): string {
  return flags.length === 0 ? '-' : [...new Set(flags)].join(',');
}
