// Removes the `ambit.dev/agent-not-ready` startup taint (any effect) from a Node once that node's
// agent is subscribed and has ACKed a version, so application pods land only where capture is up
// (the startup-ordering problem Istio users hit). The taint is put there by the node's
// registration (kubelet --register-with-taints); only this removes it.
//
// The decision is pure (nodesToUntaint); the write is a merge patch of spec.taints (a merge patch
// replaces the whole list) carrying the resourceVersion it was computed from, so a concurrent
// change gives 409 and the node is reread on the next pass.
//
// Limitation: a replica knows only the agents subscribed to it. With `onlyWhileLeading` (the
// default), a node whose agent subscribed to a follower keeps its taint until the agent reconnects
// to the leader. Lifting the taint is monotonic and conflict-safe (the only write is a removal,
// checked against the resourceVersion), so every replica may lift it for its own agents:
// `onlyWhileLeading: false` does that and removes the limitation.
import type { Logger } from 'pino';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { Clock } from '../../core/policy/clock.js';
import { ctlError } from '../errors.js';
import type { SubscriberRecord } from '../subscriber-session.js';
import { isConflict, isNotFound, KubeApiError, type KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';
import { LeaderReconcileLoop, type PassOutcome } from './leader-reconcile-loop.js';

export const AGENT_NOT_READY_TAINT = 'ambit.dev/agent-not-ready';

export interface NodeStartupTaintsOptions {
  api: KubeApi;
  leader: LeaderGate;
  config: () => ConfigResources;
  subscribers: () => readonly SubscriberRecord[];
  logger: Logger;
  /** Default true: only the Lease holder lifts taints. False: every replica, for its own agents. */
  onlyWhileLeading?: boolean | undefined;
  clock?: Clock | undefined;
  /** Defaults: 200 ms debounce, 60 s resync. */
  debounceMs?: number | undefined;
  resyncMs?: number | undefined;
}

interface Taint {
  key: string;
  effect?: string;
  value?: string;
  [field: string]: unknown;
}

function taintsOf(node: unknown): Taint[] {
  const taints = (node as { spec?: { taints?: unknown } } | undefined)?.spec?.taints;
  return Array.isArray(taints)
    ? taints.filter(
        (t): t is Taint =>
          typeof t === 'object' && t !== null && typeof (t as { key?: unknown }).key === 'string',
      )
    : [];
}

/** Whether a node's agent is subscribed here and has ACKed a version. */
export function agentReady(node: string, subscribers: readonly SubscriberRecord[]): boolean {
  return subscribers.some(
    (s) =>
      s.subscriber.kind === 'agent' &&
      s.subscriber.node === node &&
      s.connected &&
      s.lastAckedVersion !== undefined &&
      s.lastAckedVersion !== '',
  );
}

/** Nodes in the config that carry the startup taint and whose agent is ready here. Pure. */
export function nodesToUntaint(config: ConfigResources, subscribers: readonly SubscriberRecord[]): string[] {
  return config.Node.filter((n) => taintsOf(n).some((t) => t.key === AGENT_NOT_READY_TAINT))
    .map((n) => n.metadata.name)
    .filter((name) => agentReady(name, subscribers))
    .sort();
}

export class NodeStartupTaints {
  private readonly loop: LeaderReconcileLoop;
  /** Nodes whose taint this replica lifted (for status and tests). */
  readonly lifted: string[] = [];

  constructor(private readonly o: NodeStartupTaintsOptions) {
    this.loop = new LeaderReconcileLoop({
      gate: (o.onlyWhileLeading ?? true) ? o.leader : undefined,
      pass: () => this.pass(),
      logger: o.logger,
      clock: o.clock,
      debounceMs: o.debounceMs ?? 200,
      resyncMs: o.resyncMs ?? 60_000,
      backoff: { initialMs: 500, maxMs: 30_000, factor: 2 },
    });
  }

  start(): void {
    this.loop.start();
  }

  /** The config or a subscription changed: a pass when some node may be lifted now. */
  nudge(): void {
    if (nodesToUntaint(this.o.config(), this.o.subscribers()).length > 0) this.loop.nudge();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async pass(): Promise<PassOutcome> {
    let retry = false;
    const failures: unknown[] = [];
    for (const node of nodesToUntaint(this.o.config(), this.o.subscribers())) {
      try {
        const outcome = await this.lift(node);
        if (outcome === 'conflict') retry = true;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 429) throw err;
        failures.push(err);
      }
    }
    if (failures.length > 0) {
      throw ctlError(
        'CTL_KUBE_STATUS',
        `cannot remove the ${AGENT_NOT_READY_TAINT} taint: ${failures.map((e) => (e as Error).message).join('; ')}`,
        failures[0],
      );
    }
    return { retry };
  }

  /** Reads the node and removes the taint from what it read; 409 = changed meanwhile, next pass. */
  private async lift(node: string): Promise<'lifted' | 'absent' | 'conflict'> {
    const path = `/api/v1/nodes/${encodeURIComponent(node)}`;
    let live: { metadata?: { resourceVersion?: string }; spec?: unknown };
    try {
      live = await this.o.api.request({ path });
    } catch (err) {
      if (isNotFound(err)) return 'absent';
      throw err;
    }
    const taints = taintsOf(live);
    const kept = taints.filter((t) => t.key !== AGENT_NOT_READY_TAINT);
    if (kept.length === taints.length) return 'absent';
    // still ours to write? (leadership may have moved while we read)
    if ((this.o.onlyWhileLeading ?? true) && !this.o.leader.isLeader()) return 'absent';
    try {
      await this.o.api.request({
        method: 'PATCH',
        path,
        body: { metadata: { resourceVersion: live.metadata?.resourceVersion }, spec: { taints: kept } },
      });
    } catch (err) {
      if (isConflict(err)) return 'conflict';
      if (isNotFound(err)) return 'absent';
      throw err;
    }
    this.lifted.push(node);
    this.o.logger.info({ node, taint: AGENT_NOT_READY_TAINT }, 'node startup taint removed: its agent is up');
    return 'lifted';
  }
}
