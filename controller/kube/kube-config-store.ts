// The Kubernetes config store (issue 10): one Reflector per watched kind (watched-kinds.ts) keeps
// a cache of slim objects; on each change (batched ~50 ms, as the directory store) the whole
// cache goes through the SAME validation as the embedded store, each object fed as a ManifestFile
// `kube:<Kind>/<namespace>/<name>` whose text is its JSON (JSON is YAML), with the same per-file
// cache, so only changed objects are parsed again.
//
// A bad object must not wipe the mesh. The directory store rejects a whole change because one
// person edits one directory and can fix it; a cluster is written by many hands and controllers
// at once, and rejecting everything would freeze every other team's changes behind one typo. So
// here an object that fails validation (its schema, or a reference: a Pod on a Node not listed
// yet, a route to a missing Service) is held back on its own: its last version that was accepted
// stays in force, or, if it was never accepted, it is left out. Holding an object back can make
// others fail (its namespace's Pods), so validation repeats until the set is valid, each object
// going current -> last good -> left out at most once. Every held-back object is reported in
// status().lastRejected (resource, field, message) and logged when the set changes; the next
// change retries the current versions, so fixing the object is all it takes.
//
// The first snapshot waits until every kind's first list succeeded or failed for good (404: the
// API is absent, e.g. Gateway API CRDs not installed; 403: RBAC). Transient failures (no answer,
// 5xx, 401) are retried; start() gives up after `startTimeoutMs` naming the kinds still unlisted,
// rather than publish an empty mesh that would withdraw every workload from the nodes.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { formatConfigError, type ConfigError } from '../../core/model/config-error.js';
import {
  emptyConfig,
  validateConfig,
  type ConfigResources,
  type FileValidation,
} from '../../core/model/validate-config.js';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import type { ConfigSnapshot, ConfigStore, ConfigStoreStatus, RejectedChange } from '../config-store.js';
import { ctlError } from '../errors.js';
import type { KubeApi } from './kube-api.js';
import { Reflector, type ReflectorOptions } from './reflector.js';
import { WatchMetrics } from './watch-metrics.js';
import { WATCHED_KINDS, type WatchedKind } from './watched-kinds.js';

export const KUBE_DEBOUNCE_MS = 50;
/** The most a rebuild waits after a change, however costly rebuilds are. */
export const KUBE_MAX_DEBOUNCE_MS = 1_000;
export const KUBE_START_TIMEOUT_MS = 120_000;
/** Rounds of holding objects back; each object moves at most twice, so this is never reached in practice. */
const MAX_ROUNDS = 16;

export type ReflectorTuning = Partial<
  Pick<
    ReflectorOptions,
    | 'pageSize'
    | 'watchTimeoutSeconds'
    | 'silenceLimitMs'
    | 'relistIntervalMs'
    | 'backoff'
    | 'requestTimeoutMs'
    | 'random'
    | 'slim'
  >
>;

export interface KubeConfigStoreOptions {
  api: KubeApi;
  logger: Logger;
  /** Where the per-kind watch metrics are registered (the controller's --metrics-listen). */
  registry: Registry;
  clock?: Clock;
  /** The kinds to watch; default WATCHED_KINDS. */
  kinds?: readonly WatchedKind[];
  /** List/watch tuning for every kind (tests make the watchdog and relist short). */
  reflector?: ReflectorTuning;
  debounceMs?: number;
  startTimeoutMs?: number;
}

/** The manifest path an object is validated (and reported) under. */
export const manifestPathOf = (kind: string, key: string): string => `kube:${kind}/${key}`;

export class KubeConfigStore implements ConfigStore {
  private snapshot: ConfigSnapshot;
  private readonly listeners = new Set<(s: ConfigSnapshot) => void>();
  private readonly reflectors: Reflector[];
  private readonly clock: Clock;
  private readonly parsed = new Map<string, FileValidation>();
  /** path -> text of every object in the last accepted snapshot. */
  private lastGood = new Map<string, string>();
  private lastRejected: RejectedChange | undefined;
  private lastLogged = '';
  /** Wall time of the last rebuild, subscribers included (real time: it is a cost, not a schedule). */
  private lastRebuildMs = 0;
  private debounce: { clear(): void } | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly o: KubeConfigStoreOptions) {
    this.clock = o.clock ?? systemClock;
    this.snapshot = {
      generation: 0,
      resources: emptyConfig(),
      acceptedAt: new Date(this.clock.now()).toISOString(),
    };
    const metrics = new WatchMetrics(o.registry);
    this.reflectors = (o.kinds ?? WATCHED_KINDS).map(
      (kind) =>
        new Reflector({
          ...o.reflector,
          api: o.api,
          kind,
          logger: o.logger,
          metrics,
          clock: this.clock,
          onChange: () => this.changed(),
        }),
    );
  }

  async start(): Promise<void> {
    for (const r of this.reflectors) r.start();
    const limit = this.o.startTimeoutMs ?? KUBE_START_TIMEOUT_MS;
    let timer: { clear(): void } | undefined;
    const synced = await Promise.race([
      Promise.all(this.reflectors.map((r) => r.firstSync)).then(() => true),
      new Promise<false>((resolve) => (timer = this.clock.setTimeout(() => resolve(false), limit))),
    ]);
    timer?.clear();
    if (!synced) {
      const missing = this.reflectors
        .map((r) => r.status())
        .filter((s) => s.state === 'listing' || s.state === 'backoff')
        .map((s) => `${s.kind}${s.lastError ? ` (${s.lastError})` : ''}`);
      for (const r of this.reflectors) r.stop();
      throw ctlError(
        'CTL_KUBE_STORE',
        `the Kubernetes API at ${this.o.api.server} did not list every kind within ${Math.round(limit / 1000)} s: ${missing.join('; ')}`,
      );
    }
    this.started = true;
    this.rebuild();
    const absent = this.reflectors.filter((r) => ['absent', 'forbidden'].includes(r.status().state));
    this.o.logger.info(
      {
        server: this.o.api.server,
        objects: Object.fromEntries(this.reflectors.map((r) => [r.kind.kind, r.objects().size])),
        ...(absent.length ? { unavailable: absent.map((r) => `${r.kind.kind}: ${r.status().state}`) } : {}),
      },
      'Kubernetes store synced',
    );
  }

  get(): ConfigSnapshot {
    return this.snapshot;
  }

  subscribe(fn: (s: ConfigSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  status(): ConfigStoreStatus {
    return {
      source: `kube:${this.o.api.server}`,
      ...(this.lastRejected ? { lastRejected: this.lastRejected } : {}),
      watches: this.reflectors.map((r) => r.status()),
    };
  }

  close(): Promise<void> {
    this.closed = true;
    this.debounce?.clear();
    for (const r of this.reflectors) r.stop();
    return Promise.resolve();
  }

  /**
   * A change schedules one rebuild `debounceMs` after the FIRST change of a burst; later changes
   * join it instead of pushing it back, so a cluster that never stops changing (pods churning
   * every few ms) still gets a rebuild every window. The window stretches to twice the last
   * rebuild's cost (validation plus what subscribers do with the snapshot, up to 1 s), so a large
   * cluster spends at most about a third of its time rebuilding.
   */
  private changed(): void {
    if (!this.started || this.closed || this.debounce) return;
    const base = this.o.debounceMs ?? KUBE_DEBOUNCE_MS;
    const delay = Math.min(Math.max(base, 2 * this.lastRebuildMs), Math.max(base, KUBE_MAX_DEBOUNCE_MS));
    this.debounce = this.clock.setTimeout(() => {
      this.debounce = undefined;
      if (!this.closed) this.rebuild();
    }, delay);
  }

  /** Validates the whole cache, holding back bad objects (see the header); publishes a snapshot. */
  private rebuild(): void {
    const started = performance.now();
    const candidate = new Map<string, string>();
    for (const r of this.reflectors) {
      for (const [key, obj] of r.objects()) candidate.set(manifestPathOf(r.kind.kind, key), obj.text);
    }
    const errors = new Map<string, ConfigError>();
    const heldBack = new Map<string, 'kept previous version' | 'left out'>();
    let result: ConfigResources | undefined;
    for (let round = 0; round < MAX_ROUNDS && result === undefined; round++) {
      const v = validateConfig(
        [...candidate].map(([path, text]) => ({ path, text })),
        this.parsed,
      );
      if (v.valid) {
        result = v.result;
        break;
      }
      let progressed = false;
      for (const e of v.errors) {
        errors.set(formatConfigError(e), e);
        const current = candidate.get(e.file);
        if (current === undefined) continue;
        const good = this.lastGood.get(e.file);
        if (good !== undefined && good !== current) {
          candidate.set(e.file, good);
          heldBack.set(e.file, 'kept previous version');
        } else {
          candidate.delete(e.file);
          heldBack.set(e.file, 'left out');
        }
        progressed = true;
      }
      if (!progressed) break;
    }
    const at = new Date(this.clock.now()).toISOString();
    this.lastRejected = errors.size > 0 ? { at, errors: [...errors.values()] } : undefined;
    this.logRejections(heldBack, errors);
    if (result === undefined) {
      // not reached with the model's checks (each round removes or reverts a named object); if it
      // were, the whole previous snapshot stays in force as in the directory store
      this.o.logger.error(
        { keptGeneration: this.snapshot.generation },
        'cluster config not valid; the last good config stays in force',
      );
    } else {
      this.lastGood = candidate;
      this.snapshot = { generation: this.snapshot.generation + 1, resources: result, acceptedAt: at };
      this.o.logger.debug(
        {
          generation: this.snapshot.generation,
          objects: candidate.size,
          heldBack: heldBack.size,
          validateMs: Math.round(performance.now() - started),
        },
        'config accepted',
      );
    }
    for (const fn of this.listeners) fn(this.snapshot);
    this.lastRebuildMs = performance.now() - started;
  }

  private logRejections(heldBack: Map<string, string>, errors: Map<string, ConfigError>): void {
    const key = [...errors.keys()].sort().join('\n');
    if (key === this.lastLogged) return;
    this.lastLogged = key;
    if (errors.size === 0) {
      this.o.logger.info('every cluster object is valid again; nothing held back');
      return;
    }
    this.o.logger.error(
      {
        errors: [...errors.keys()],
        heldBack: Object.fromEntries(heldBack),
        keptGeneration: this.snapshot.generation,
      },
      `${heldBack.size} cluster object${heldBack.size === 1 ? '' : 's'} rejected (${errors.size} error${errors.size === 1 ? '' : 's'}); each keeps its last good version or is left out, the rest of the mesh is unaffected`,
    );
  }
}
