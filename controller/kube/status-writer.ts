// Writes route and waypoint Gateway status to the API server while this replica leads: Accepted,
// ResolvedRefs and PartiallyInvalid per route parent, Accepted and Programmed (and the address) on
// waypoints, decided by status-targets.ts from the same pure functions `ambit status` shows. Each
// object is read, merged (status-merge.ts: only our parts, unchanged lastTransitionTime kept) and
// written with PUT on /status carrying the read resourceVersion (a 409 rereads), and only when our
// part differs. What it last wrote is remembered per object, so a pass where nothing changed makes
// no request at all; the memory is dropped on gaining leadership (a full pass reads everything)
// and every fullResyncMs (to repair status someone else overwrote). Passes run in the shared
// leader loop (leader-reconcile-loop.ts): debounced nudges, a resync period, capped jittered
// backoff after failures, nothing while not leader; writes are rate-limited (status-write-budget.ts).
import type { Logger } from 'pino';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { MeshState } from '../../core/model/mesh.js';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import type { BackoffPolicy } from '../../core/policy/exponential-backoff.js';
import { ctlError } from '../errors.js';
import type { SubscriberRecord } from '../subscriber-session.js';
import { isConflict, isNotFound, type KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';
import { LeaderReconcileLoop, type PassOutcome } from './leader-reconcile-loop.js';
import { metaTime, nextGatewayStatus, nextRouteStatus } from './status-merge.js';
import { StatusWriteBudget } from './status-write-budget.js';
import { statusTargets, targetKey, type StatusTarget } from './status-targets.js';

export const STATUS_WRITER_DEFAULTS = {
  /** Nudges within this window share one pass (a config change nudges once per watch event). */
  debounceMs: 150,
  /** A pass this often without nudges: cheap, it only recomputes and compares with what it wrote. */
  resyncMs: 60_000,
  /** This often the memory of what was written is dropped and every object is read again. */
  fullResyncMs: 600_000,
  backoff: { initialMs: 500, maxMs: 30_000, factor: 2 } satisfies BackoffPolicy,
  requestTimeoutMs: 10_000,
  /** Status writes per second after a burst (status-write-budget.ts); reads are not limited. */
  writesPerSecond: 20,
  writeBurst: 40,
} as const;

export interface KubeStatusWriterOptions {
  api: KubeApi;
  leader: LeaderGate;
  /** The accepted config and the mesh state computed from it, now. */
  config: () => ConfigResources;
  state: () => MeshState;
  /** This replica's discovery streams open now (waypoint instances subscribed here). */
  subscribers: () => readonly SubscriberRecord[];
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  debounceMs?: number;
  resyncMs?: number;
  fullResyncMs?: number;
  backoff?: BackoffPolicy;
  writesPerSecond?: number;
  writeBurst?: number;
}

const PLURAL: Record<StatusTarget['kind'], string> = {
  HTTPRoute: 'httproutes',
  GRPCRoute: 'grpcroutes',
  Gateway: 'gateways',
};

interface KubeObjectWithStatus {
  metadata: { resourceVersion?: string; uid?: string; [k: string]: unknown };
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

type SyncResult = 'written' | 'unchanged' | 'gone' | 'conflict' | 'not-leader';

export class KubeStatusWriter {
  private readonly clock: Clock;
  private readonly loop: LeaderReconcileLoop;
  private readonly budget: StatusWriteBudget;
  /** Per object: the target we last wrote or found in place (JSON), while leading. */
  private readonly written = new Map<string, string>();
  private lastFullMs = Number.NEGATIVE_INFINITY;
  private unsubscribe: (() => void) | undefined;
  /** Writes made (for tests and logs). */
  writes = 0;

  /** Passes that ended (for tests). */
  get passes(): number {
    return this.loop.passes;
  }

  constructor(private readonly o: KubeStatusWriterOptions) {
    const d = STATUS_WRITER_DEFAULTS;
    this.clock = o.clock ?? systemClock;
    this.budget = new StatusWriteBudget(
      o.writesPerSecond ?? d.writesPerSecond,
      o.writeBurst ?? d.writeBurst,
      this.clock,
    );
    this.loop = new LeaderReconcileLoop({
      gate: o.leader,
      pass: () => this.pass(),
      logger: o.logger,
      clock: this.clock,
      debounceMs: o.debounceMs ?? d.debounceMs,
      resyncMs: o.resyncMs ?? d.resyncMs,
      backoff: o.backoff ?? d.backoff,
      random: o.random,
    });
  }

  start(): void {
    // a new term starts from what the objects carry: another leader may have written since
    this.unsubscribe = this.o.leader.onChange((leading) => {
      this.written.clear();
      if (leading) this.lastFullMs = this.clock.now();
    });
    this.loop.start();
  }

  /** The config, the state or a subscription changed: recompute and write what differs. */
  nudge(): void {
    this.loop.nudge();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop.stop();
  }

  private async pass(): Promise<PassOutcome> {
    const now = this.clock.now();
    if (now - this.lastFullMs >= (this.o.fullResyncMs ?? STATUS_WRITER_DEFAULTS.fullResyncMs)) {
      this.written.clear();
      this.lastFullMs = now;
    }
    const targets = statusTargets(this.o.config(), this.o.state(), this.o.subscribers());
    const keys = new Set(targets.map(targetKey));
    for (const k of [...this.written.keys()]) if (!keys.has(k)) this.written.delete(k);
    let retry = false;
    let wrote = 0;
    const failures: { object: string; err: unknown }[] = [];
    for (const t of targets) {
      if (!this.o.leader.isLeader()) return { retry: false };
      const key = targetKey(t);
      const fingerprint = JSON.stringify(t);
      if (this.written.get(key) === fingerprint) continue;
      try {
        const r = await this.sync(t);
        if (r === 'not-leader') return { retry: false };
        if (r === 'conflict') retry = true;
        else this.written.set(key, fingerprint);
        if (r === 'written') wrote += 1;
      } catch (err) {
        failures.push({ object: key, err });
      }
    }
    if (wrote > 0) this.o.logger.info({ written: wrote, objects: targets.length }, 'status written');
    const first = failures[0];
    if (first) {
      throw ctlError(
        'CTL_KUBE_STATUS',
        `cannot write the status of ${failures.length === 1 ? first.object : `${failures.length} objects (first ${first.object})`}: ${(first.err as Error).message}`,
        first.err,
      );
    }
    return { retry };
  }

  private path(t: StatusTarget): string {
    return `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(t.namespace)}/${PLURAL[t.kind]}/${encodeURIComponent(t.name)}`;
  }

  /** Read, merge, write when ours differs; one reread after a 409, then the loop retries later. */
  private async sync(t: StatusTarget): Promise<SyncResult> {
    const timeoutMs = STATUS_WRITER_DEFAULTS.requestTimeoutMs;
    for (let attempt = 0; attempt < 2; attempt++) {
      let obj: KubeObjectWithStatus;
      try {
        obj = await this.o.api.request<KubeObjectWithStatus>({
          method: 'GET',
          path: this.path(t),
          timeoutMs,
        });
      } catch (err) {
        // the store's cache is behind a delete: nothing to write; its next event nudges again
        if (isNotFound(err)) return 'gone';
        throw err;
      }
      if (t.uid !== undefined && obj.metadata.uid !== undefined && obj.metadata.uid !== t.uid) return 'gone';
      const now = metaTime(this.clock.now());
      const next =
        t.kind === 'Gateway' ? nextGatewayStatus(obj.status, t, now) : nextRouteStatus(obj.status, t, now);
      if (next === undefined) return 'unchanged';
      await this.budget.take();
      if (!this.o.leader.isLeader()) return 'not-leader';
      try {
        await this.o.api.request({
          method: 'PUT',
          path: `${this.path(t)}/status`,
          body: { ...obj, status: next },
          timeoutMs,
        });
        this.writes += 1;
        this.o.logger.debug({ object: targetKey(t) }, 'status written');
        return 'written';
      } catch (err) {
        if (isNotFound(err)) return 'gone';
        if (!isConflict(err)) throw err;
      }
    }
    return 'conflict';
  }
}
