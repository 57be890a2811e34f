// For every Gateway of class ambit-waypoint, the leader creates and keeps a ServiceAccount,
// Deployment, Service and PodDisruptionBudget owned by the Gateway (waypoint-objects.ts renders
// them), plus the namespace's copy of the trust root. Deleting the Gateway deletes them twice
// over: by garbage collection (owner references) and by this loop, which also catches a Gateway
// whose class changed. It never touches an object that lacks its managed-by label.
//
// A pass: read each waypoint Gateway from the API (its uid keys the owner references; the cache
// may lag), render, create what is missing, PUT what drifted (with the live resourceVersion; a
// 409 ends that object's turn and the pass is retried soon), then delete labelled objects whose
// Gateway the API confirms is gone. Nudges are skipped while the waypoint Gateways in the config
// are what the last good pass saw; a periodic resync catches edits to the objects themselves.
import type { Logger } from 'pino';
import { WAYPOINT_CLASS } from '../../core/model/resources/gateway.js';
import { GATEWAY_NAME_LABEL } from '../../core/model/mesh-labels.js';
import type { ConfigResources } from '../../core/model/validate-config.js';
import type { Clock } from '../../core/policy/clock.js';
import { ctlError } from '../errors.js';
import { isConflict, isNotFound, KubeApiError, type KubeApi } from './kube-api.js';
import type { LeaderGate } from './leader-election.js';
import { LeaderReconcileLoop, type PassOutcome } from './leader-reconcile-loop.js';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  WAYPOINT_KIND_ORDER,
  objectPath,
  renderRootCertConfigMap,
  renderWaypointObjects,
  type OwnedObject,
  type WaypointGateway,
  type WaypointObjectKind,
} from './waypoint-objects.js';
import { driftOf, withOwnedFields } from './waypoint-owned-fields.js';

export interface WaypointDeploymentsOptions {
  api: KubeApi;
  leader: LeaderGate;
  config: () => ConfigResources;
  /** The image the waypoint pods run (the controller's own, AMBIT_IMAGE). */
  image: string;
  /** host:port of the controller Service the waypoints dial. */
  controllerAddress: string;
  /** The CA root (PEM) copied into ConfigMap ambit-root-cert in each waypoint namespace; without it none is kept. */
  rootCertPem?: string | undefined;
  logger: Logger;
  clock?: Clock | undefined;
  /** Defaults: 500 ms debounce, 60 s resync. */
  debounceMs?: number | undefined;
  resyncMs?: number | undefined;
}

/** What one pass did, for logs and tests. */
export interface WaypointPassCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  /** Objects in our way without our label, left alone. */
  foreign: number;
  conflicts: number;
}

interface LiveObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { gatewayClassName?: string };
  [field: string]: unknown;
}

interface ObjectList {
  items?: LiveObject[];
  metadata?: { continue?: string };
}

const GATEWAYS_PATH = '/apis/gateway.networking.k8s.io/v1';
const keyOf = (kind: WaypointObjectKind, ns: string, name: string): string => `${kind} ${ns}/${name}`;

export class WaypointDeployments {
  private readonly loop: LeaderReconcileLoop;
  private readonly warned = new Set<string>();
  /** The waypoint Gateways (as the config shows them) the last successful pass reconciled. */
  private settled: string | undefined;
  lastPass: WaypointPassCounts | undefined;

  constructor(private readonly o: WaypointDeploymentsOptions) {
    this.loop = new LeaderReconcileLoop({
      gate: o.leader,
      pass: () => this.pass(),
      logger: o.logger,
      clock: o.clock,
      debounceMs: o.debounceMs ?? 500,
      resyncMs: o.resyncMs ?? 60_000,
      backoff: { initialMs: 500, maxMs: 30_000, factor: 2 },
    });
  }

  start(): void {
    this.loop.start();
  }

  /** Passes ended so far (tests wait on it). */
  get passes(): number {
    return this.loop.passes;
  }

  /** The config changed: a pass, unless its waypoint Gateways are what the last pass settled. */
  nudge(): void {
    if (this.settled !== undefined && this.settled === this.fingerprint()) return;
    this.loop.nudge();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private waypointGateways(): ConfigResources['Gateway'] {
    return this.o.config().Gateway.filter((g) => g.spec.gatewayClassName === WAYPOINT_CLASS);
  }

  private fingerprint(): string {
    return JSON.stringify(
      this.waypointGateways().map((g) => [
        g.metadata.namespace ?? 'default',
        g.metadata.name,
        g.metadata.uid,
        g.metadata.annotations,
      ]),
    );
  }

  private warnOnce(key: string, msg: string, extra: Record<string, unknown> = {}): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.o.logger.warn(extra, msg);
  }

  private async pass(): Promise<PassOutcome> {
    const fingerprint = this.fingerprint();
    const counts: WaypointPassCounts = {
      created: 0,
      updated: 0,
      deleted: 0,
      unchanged: 0,
      foreign: 0,
      conflicts: 0,
    };
    const failures: unknown[] = [];
    const attempt = async (what: () => Promise<void>): Promise<void> => {
      try {
        await what();
      } catch (err) {
        // throttled: stop the pass and let the loop wait for Retry-After
        if (err instanceof KubeApiError && err.status === 429) throw err;
        failures.push(err);
      }
    };

    // 1. read each waypoint Gateway from the API and render its objects
    const rendered: { gateway: WaypointGateway; objects: OwnedObject[] }[] = [];
    for (const g of this.waypointGateways()) {
      const ns = g.metadata.namespace ?? 'default';
      await attempt(async () => {
        const gateway = await this.readWaypointGateway(ns, g.metadata.name);
        if (!gateway) return; // gone or no longer a waypoint: the cache lags
        const r = renderWaypointObjects({
          gateway,
          image: this.o.image,
          controllerAddress: this.o.controllerAddress,
        });
        if (!r.ok) {
          this.warnOnce(`render ${ns}/${g.metadata.name}`, r.reason, { code: 'CTL_WAYPOINT_DEPLOY' });
          return;
        }
        for (const w of r.warnings) this.warnOnce(`${ns}/${g.metadata.name} ${w}`, w);
        rendered.push({ gateway, objects: r.objects });
      });
    }

    // 2. the trust root first in each namespace (the pods wait for it), then each waypoint's objects
    const desired: OwnedObject[] = [];
    const rootPem = this.o.rootCertPem;
    if (rootPem !== undefined) {
      const byNamespace = new Map<string, WaypointGateway[]>();
      for (const r of rendered) {
        byNamespace.set(r.gateway.namespace, [...(byNamespace.get(r.gateway.namespace) ?? []), r.gateway]);
      }
      for (const [ns, gws] of byNamespace) desired.push(renderRootCertConfigMap(ns, gws, rootPem));
    }
    for (const r of rendered) desired.push(...r.objects);
    for (const obj of desired) {
      if (!this.o.leader.isLeader()) return { retry: false };
      await attempt(() => this.ensure(obj, counts));
    }

    // 3. what we made for Gateways that are gone
    const keep = new Set(desired.map((d) => keyOf(d.kind, d.metadata.namespace, d.metadata.name)));
    for (const kind of [...WAYPOINT_KIND_ORDER].reverse()) {
      if (!this.o.leader.isLeader()) return { retry: false };
      await attempt(() => this.collect(kind, keep, counts));
    }

    this.lastPass = counts;
    if (counts.created + counts.updated + counts.deleted > 0) {
      this.o.logger.info({ ...counts, waypoints: rendered.length }, 'waypoint objects reconciled');
    }
    if (failures.length > 0) {
      const first = failures[0];
      throw ctlError(
        'CTL_WAYPOINT_DEPLOY',
        `${failures.length} waypoint object operation(s) failed: ${failures.map((e) => (e as Error).message).join('; ')}`,
        first,
      );
    }
    if (counts.conflicts === 0) this.settled = fingerprint;
    return { retry: counts.conflicts > 0 };
  }

  /** The Gateway as the API has it now, or undefined when it is gone or not a waypoint. */
  private async readWaypointGateway(namespace: string, name: string): Promise<WaypointGateway | undefined> {
    let live: LiveObject;
    try {
      live = await this.o.api.request<LiveObject>({
        path: `${GATEWAYS_PATH}/namespaces/${encodeURIComponent(namespace)}/gateways/${encodeURIComponent(name)}`,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const uid = live.metadata?.uid;
    if (live.spec?.gatewayClassName !== WAYPOINT_CLASS || !uid) return undefined;
    return { namespace, name, uid, annotations: live.metadata?.annotations };
  }

  private async ensure(obj: OwnedObject, counts: WaypointPassCounts): Promise<void> {
    const { namespace, name } = obj.metadata;
    const path = objectPath(obj.kind, namespace, name);
    const key = keyOf(obj.kind, namespace, name);
    let live: LiveObject | undefined;
    try {
      live = await this.o.api.request<LiveObject>({ path });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!live) {
      try {
        await this.o.api.request({ method: 'POST', path: objectPath(obj.kind, namespace), body: obj });
        counts.created += 1;
        this.warned.delete(key);
        this.o.logger.info({ object: key }, 'waypoint object created');
      } catch (err) {
        if (!isConflict(err)) throw err;
        counts.conflicts += 1; // made meanwhile: compare it next pass
      }
      return;
    }
    if (live.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      // the controller's own namespace holds the root ConfigMap cluster-credentials.ts writes
      if (obj.kind === 'ConfigMap' && driftOf(obj, live).every((f) => f.startsWith('metadata.'))) {
        counts.unchanged += 1;
        return;
      }
      counts.foreign += 1;
      this.warnOnce(
        key,
        `${key} exists without the label ${MANAGED_BY_LABEL}=${MANAGED_BY}: left alone (delete or rename it so the waypoint can be deployed)`,
        { object: key, code: 'CTL_WAYPOINT_DEPLOY' },
      );
      return;
    }
    const drift = driftOf(obj, live);
    if (drift.length === 0) {
      counts.unchanged += 1;
      return;
    }
    try {
      await this.o.api.request({ method: 'PUT', path, body: withOwnedFields(obj, live) });
      counts.updated += 1;
      this.o.logger.info({ object: key, drift }, 'waypoint object updated');
    } catch (err) {
      if (!isConflict(err)) throw err;
      counts.conflicts += 1; // changed under us: reread next pass
    }
  }

  /** Deletes labelled objects of `kind` not in `keep` whose owning waypoint the API confirms is gone. */
  private async collect(
    kind: WaypointObjectKind,
    keep: Set<string>,
    counts: WaypointPassCounts,
  ): Promise<void> {
    for (const item of await this.listManaged(kind)) {
      const ns = item.metadata?.namespace;
      const name = item.metadata?.name;
      if (!ns || !name || keep.has(keyOf(kind, ns, name))) continue;
      if (!(await this.orphaned(kind, item, ns))) continue;
      try {
        await this.o.api.request({
          method: 'DELETE',
          path: objectPath(kind, ns, name),
          // only the object we looked at, not one made again under the same name since
          body: { preconditions: { uid: item.metadata?.uid } },
        });
        counts.deleted += 1;
        this.o.logger.info(
          { object: keyOf(kind, ns, name) },
          'waypoint object deleted (its Gateway is gone)',
        );
      } catch (err) {
        if (isNotFound(err)) continue; // garbage collection was first
        if (!isConflict(err)) throw err;
        counts.conflicts += 1;
      }
    }
  }

  private async orphaned(kind: WaypointObjectKind, item: LiveObject, ns: string): Promise<boolean> {
    if (kind === 'ConfigMap') {
      // shared by the namespace's waypoints: an orphan once none is left
      const gateways = await this.o.api.request<ObjectList>({
        path: `${GATEWAYS_PATH}/namespaces/${encodeURIComponent(ns)}/gateways`,
      });
      return !(gateways.items ?? []).some((g) => g.spec?.gatewayClassName === WAYPOINT_CLASS);
    }
    const gateway = item.metadata?.labels?.[GATEWAY_NAME_LABEL];
    if (gateway === undefined) return false; // not a shape we make: leave it
    return (await this.readWaypointGateway(ns, gateway)) === undefined;
  }

  private async listManaged(kind: WaypointObjectKind): Promise<LiveObject[]> {
    const out: LiveObject[] = [];
    let next: string | undefined;
    do {
      const page: ObjectList = await this.o.api.request<ObjectList>({
        path: objectPath(kind, undefined),
        query: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`, limit: 500, continue: next },
      });
      // filtered here too: the label is what makes an object ours
      out.push(...(page.items ?? []).filter((i) => i.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY));
      next = page.metadata?.continue || undefined;
    } while (next);
    return out;
  }
}
