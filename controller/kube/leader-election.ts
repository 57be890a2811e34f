// Lease-based leader election (coordination.k8s.io/v1) among the controller replicas, client-go's
// algorithm: every replica serves discovery and the CA; only the Lease's holder writes status and
// reconciles waypoint Deployments and node taints. The decisions over the record are pure
// (lease-record.ts); this file carries them out on a clock: try every retryPeriod (followers with
// jitter), renew every retryPeriod while leading, and step down as soon as no renew has succeeded
// for renewDeadline - before any other replica can consider the Lease expired (leaseDuration after
// it last saw it change, by its own clock), so two replicas never lead at once by these timings.
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import { ctlError } from '../errors.js';
import { isConflict, isNotFound, type KubeApi } from './kube-api.js';
import {
  decideLease,
  recordKey,
  releasedSpec,
  type LeaseObject,
  type LeaseSpec,
  type Observation,
} from './lease-record.js';

/** Whether this replica may write now; tasks that write watch onChange. */
export interface LeaderGate {
  isLeader(): boolean;
  /** Called with the new value whenever leadership is gained or lost; returns an unsubscribe. */
  onChange(fn: (leader: boolean) => void): () => void;
}

/** client-go's defaults (and kube-controller-manager's): 15 s lease, 10 s renew deadline, 2 s retry. */
export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationSeconds: 15,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  /** A follower waits retryPeriod * (1 + random * jitterFactor) between tries (wait.JitterUntil). */
  jitterFactor: 1.2,
  /** One API call's limit; the renew deadline still holds if a call hangs. */
  requestTimeoutMs: 5_000,
} as const;

export interface LeaseLeaderElectionOptions {
  api: KubeApi;
  /** Namespace of the Lease (the controller's own, POD_NAMESPACE, default ambit-system). */
  namespace: string;
  /** Lease name, `ambit-controller`. */
  name: string;
  /** This replica (POD_NAME, else the hostname). */
  identity: string;
  logger: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  jitterFactor?: number;
  requestTimeoutMs?: number;
  clock?: Clock;
  /** [0, 1), for the followers' jitter. */
  random?: () => number;
}

type Attempt =
  | { kind: 'renewed'; sentAtMs: number; takeover: boolean; transitions: number }
  | { kind: 'held'; holder: string }
  | { kind: 'failed'; error: unknown };

export class LeaseLeaderElection implements LeaderGate {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly jitterFactor: number;
  private readonly requestTimeoutMs: number;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private leader = false;
  private started = false;
  private stopped = false;
  private observed: Observation = { key: '', atMs: 0 };
  private observedHolder: string | undefined;
  /** When the last successful renew was sent (our clock): the Lease is ours until + leaseDuration. */
  private lastRenewSentMs = 0;
  private tickTimer: { clear(): void } | undefined;
  private deadlineTimer: { clear(): void } | undefined;
  private inflight: Promise<void> | undefined;
  /** stop() releases the Lease only when it may be ours (led, or a renew landed while stopping). */
  private renewedWhileStopping = false;

  constructor(private readonly o: LeaseLeaderElectionOptions) {
    const d = LEADER_ELECTION_DEFAULTS;
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.leaseDurationSeconds = o.leaseDurationSeconds ?? d.leaseDurationSeconds;
    this.renewDeadlineMs = o.renewDeadlineMs ?? d.renewDeadlineMs;
    this.retryPeriodMs = o.retryPeriodMs ?? d.retryPeriodMs;
    this.jitterFactor = o.jitterFactor ?? d.jitterFactor;
    this.requestTimeoutMs = o.requestTimeoutMs ?? d.requestTimeoutMs;
    // client-go's checks: a leader must give up before the others may take over, and retry
    // (jittered) more than once within its deadline
    if (!Number.isInteger(this.leaseDurationSeconds) || this.leaseDurationSeconds < 1) {
      throw ctlError(
        'CTL_LEADER',
        `leaseDurationSeconds must be a whole number >= 1, not ${this.leaseDurationSeconds}`,
      );
    }
    if (this.renewDeadlineMs >= this.leaseDurationSeconds * 1000) {
      throw ctlError(
        'CTL_LEADER',
        `renewDeadline (${this.renewDeadlineMs} ms) must be shorter than leaseDuration (${this.leaseDurationSeconds} s)`,
      );
    }
    if (this.renewDeadlineMs <= this.retryPeriodMs * this.jitterFactor) {
      throw ctlError(
        'CTL_LEADER',
        `renewDeadline (${this.renewDeadlineMs} ms) must be longer than retryPeriod * jitterFactor (${this.retryPeriodMs} ms * ${this.jitterFactor})`,
      );
    }
    if (!o.identity)
      throw ctlError('CTL_LEADER', 'leader election needs an identity (POD_NAME or the hostname)');
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases/${encodeURIComponent(this.o.name)}`;
  }

  private get lease(): string {
    return `Lease ${this.o.namespace}/${this.o.name}`;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.o.logger.info(
      { lease: this.lease, identity: this.o.identity, leaseDurationSeconds: this.leaseDurationSeconds },
      'leader election started',
    );
    this.schedule(0);
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The holder this replica last saw in the Lease ('' when free, undefined before the first read). */
  holder(): string | undefined {
    return this.leader ? this.o.identity : this.observedHolder;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops renewing and releases the Lease when held, so another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tickTimer?.clear();
    // stop writing before the Lease is free: the next leader must not overlap with us
    if (this.leader) this.renewedWhileStopping = true;
    this.setLeader(false, 'stopping');
    await this.inflight;
    if (this.renewedWhileStopping) await this.release();
  }

  private schedule(ms: number): void {
    this.tickTimer?.clear();
    if (this.stopped) return;
    this.tickTimer = this.clock.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    if (this.stopped || this.inflight) return;
    this.inflight = this.tryAcquireOrRenew()
      .then((a) => this.settle(a))
      .finally(() => {
        this.inflight = undefined;
      });
  }

  private settle(a: Attempt): void {
    if (this.stopped) {
      // stop() is waiting for this attempt: remember a renew so it releases what it holds
      if (a.kind === 'renewed') this.renewedWhileStopping = true;
      return;
    }
    switch (a.kind) {
      case 'renewed':
        this.lastRenewSentMs = a.sentAtMs;
        this.armDeadline();
        if (!this.leader) {
          this.o.logger.info(
            {
              lease: this.lease,
              identity: this.o.identity,
              takeover: a.takeover,
              leaderTransitions: a.transitions,
            },
            'became leader',
          );
          this.setLeader(true, 'acquired');
        }
        this.schedule(this.retryPeriodMs);
        return;
      case 'held':
        if (this.leader) this.setLeader(false, `the Lease is now held by ${a.holder}`);
        this.schedule(this.followerWait());
        return;
      case 'failed':
        // a leader keeps its place until the deadline timer says otherwise; it retries unjittered
        this.o.logger.warn(
          { lease: this.lease, err: a.error, leader: this.leader },
          this.leader ? 'cannot renew the Lease' : 'cannot read or take the Lease',
        );
        // a renew that lost the write race rereads at once: the Lease may have a new holder
        this.schedule(this.leader ? (isConflict(a.error) ? 0 : this.retryPeriodMs) : this.followerWait());
        return;
      default: {
        const never: never = a;
        throw new Error(`unknown attempt ${JSON.stringify(never)}`);
      }
    }
  }

  private followerWait(): number {
    return this.retryPeriodMs * (1 + this.random() * this.jitterFactor);
  }

  /** Steps down at lastRenewSent + renewDeadline unless a later renew moved it. */
  private armDeadline(): void {
    this.deadlineTimer?.clear();
    const left = this.lastRenewSentMs + this.renewDeadlineMs - this.clock.now();
    this.deadlineTimer = this.clock.setTimeout(
      () => {
        if (!this.leader) return;
        if (this.clock.now() - this.lastRenewSentMs < this.renewDeadlineMs) return this.armDeadline();
        this.setLeader(false, `no renew succeeded within the renew deadline (${this.renewDeadlineMs} ms)`);
        // try again as a follower: the Lease may still be ours on the server
        this.schedule(this.followerWait());
      },
      Math.max(0, left),
    );
  }

  private setLeader(leader: boolean, why: string): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (!leader) {
      this.deadlineTimer?.clear();
      this.o.logger.warn({ lease: this.lease, identity: this.o.identity, why }, 'lost leadership');
    }
    for (const fn of [...this.listeners]) {
      try {
        fn(leader);
      } catch (err) {
        this.o.logger.error({ err }, 'a leadership listener threw');
      }
    }
  }

  private observe(spec: LeaseSpec | undefined): void {
    const key = recordKey(spec);
    if (key !== this.observed.key) this.observed = { key, atMs: this.clock.now() };
    const holder = spec?.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== this.o.identity) {
        this.o.logger.info({ lease: this.lease, holder: holder || '(none)' }, 'leader observed');
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const api = this.o.api;
    const timeoutMs = this.requestTimeoutMs;
    const sentAtMs = this.clock.now();
    let current: LeaseObject | undefined;
    try {
      current = await api.request<LeaseObject>({ method: 'GET', path: this.path, timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) return { kind: 'failed', error: err };
    }
    if (!current) {
      const d = decideLease(undefined, this.observed, this.o.identity, sentAtMs, this.leaseDurationSeconds);
      if (d.kind !== 'write')
        return { kind: 'failed', error: new Error('unreachable: a missing Lease is free') };
      try {
        const body: LeaseObject = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: d.spec,
        };
        const created = await api.request<LeaseObject>({
          method: 'POST',
          path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`,
          body,
          timeoutMs,
        });
        this.observe(created.spec ?? d.spec);
        return { kind: 'renewed', sentAtMs, takeover: true, transitions: d.spec.leaderTransitions ?? 0 };
      } catch (err) {
        // 409 AlreadyExists: another replica created it first; it leads
        return isConflict(err)
          ? { kind: 'held', holder: '(another replica)' }
          : { kind: 'failed', error: err };
      }
    }
    this.observe(current.spec);
    const d = decideLease(
      current.spec,
      this.observed,
      this.o.identity,
      this.clock.now(),
      this.leaseDurationSeconds,
    );
    if (d.kind === 'held') return { kind: 'held', holder: d.holder };
    try {
      const updated = await api.request<LeaseObject>({
        method: 'PUT',
        path: this.path,
        body: { ...current, spec: { ...current.spec, ...d.spec } },
        timeoutMs,
      });
      this.observe(updated.spec ?? d.spec);
      return { kind: 'renewed', sentAtMs, takeover: d.takeover, transitions: d.spec.leaderTransitions ?? 0 };
    } catch (err) {
      // 409 Conflict: someone wrote the Lease since our read (lost the race); the next read tells who
      return { kind: 'failed', error: err };
    }
  }

  /** Writes a free record (client-go's ReleaseOnCancel) if the Lease is still ours. */
  private async release(): Promise<void> {
    try {
      const current = await this.o.api.request<LeaseObject>({
        method: 'GET',
        path: this.path,
        timeoutMs: this.requestTimeoutMs,
      });
      if (current.spec?.holderIdentity !== this.o.identity) return;
      await this.o.api.request<LeaseObject>({
        method: 'PUT',
        path: this.path,
        body: { ...current, spec: { ...current.spec, ...releasedSpec(current.spec, this.clock.now()) } },
        timeoutMs: this.requestTimeoutMs,
      });
      this.o.logger.info({ lease: this.lease, identity: this.o.identity }, 'released the Lease');
    } catch (err) {
      this.o.logger.warn(
        { lease: this.lease, err },
        'cannot release the Lease: the others take over once it expires',
      );
    }
  }
}
