// The leader-election record as a coordination.k8s.io/v1 Lease carries it, and the pure decisions
// client-go's leaderelection package makes over it: may this replica take or renew the Lease now,
// and what record does it write. Time here is always OUR clock: a record is expired when it has not
// changed for leaseDuration since we first saw it, never by comparing its renewTime with our now
// (another replica's clock may be skewed). No I/O; leader-election.ts carries the decisions out.

/** The fields of a Lease's spec leader election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number | undefined;
  /** MicroTime, RFC 3339 with exactly six fractional digits. */
  acquireTime?: string | undefined;
  renewTime?: string | undefined;
  leaderTransitions?: number | undefined;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

/**
 * metav1.MicroTime as the API server parses it (`2006-01-02T15:04:05.000000Z07:00`): Go's parser
 * wants exactly six fractional digits, so Date's three are padded.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** What we compare to notice that a record changed (client-go compares the raw record). */
export function recordKey(spec: LeaseSpec | undefined): string {
  const s = spec ?? {};
  return JSON.stringify([
    s.holderIdentity ?? '',
    s.leaseDurationSeconds ?? 0,
    s.acquireTime ?? '',
    s.renewTime ?? '',
    s.leaderTransitions ?? 0,
  ]);
}

/** When we last saw the record change, by our clock. */
export interface Observation {
  key: string;
  atMs: number;
}

export type LeaseDecision =
  | { kind: 'write'; spec: LeaseSpec; takeover: boolean }
  | { kind: 'held'; holder: string; expiresInMs: number };

/**
 * Whether `identity` may write the Lease now and the record it writes (client-go's
 * tryAcquireOrRenew): renew when we hold it, take over (leaderTransitions + 1) when it is free
 * (no holder, e.g. released) or unchanged for its leaseDuration since `observed.atMs`, else leave it.
 */
export function decideLease(
  current: LeaseSpec | undefined,
  observed: Observation,
  identity: string,
  nowMs: number,
  leaseDurationSeconds: number,
): LeaseDecision {
  const holder = current?.holderIdentity ?? '';
  const duration = (current?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  const ours = holder === identity;
  if (holder !== '' && !ours) {
    const expiresInMs = observed.atMs + duration - nowMs;
    if (expiresInMs > 0) return { kind: 'held', holder, expiresInMs };
  }
  const now = microTime(nowMs);
  const transitions = current?.leaderTransitions ?? 0;
  return {
    kind: 'write',
    takeover: !ours,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: ours ? (current?.acquireTime ?? now) : now,
      renewTime: now,
      // the first holder of a new Lease is no transition; every change of holder after it is one
      leaderTransitions: ours || current === undefined ? transitions : transitions + 1,
    },
  };
}

/**
 * The record a leader writes when it stops (client-go's release): no holder, so the others take
 * it at their next try instead of waiting out the duration; transitions kept.
 */
export function releasedSpec(current: LeaseSpec | undefined, nowMs: number): LeaseSpec {
  const now = microTime(nowMs);
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaderTransitions: current?.leaderTransitions ?? 0,
  };
}
