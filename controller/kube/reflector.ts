// One kind's list/watch loop over KubeApi (issue 10): a paginated list, then a watch from the
// list's resourceVersion with bookmarks, keeping a cache of slim objects (object-slim.ts) keyed
// by namespace/name. It never stops on its own: every failure (no response, 5xx, 429, 410, a
// parse error, a dropped or silent stream) restarts it, with capped equal-jitter backoff
// (core/policy/exponential-backoff.ts) whose delay a 429/503 Retry-After raises to at least
// that. Recovery per failure:
//   410 (HTTP or an ERROR event), a parse error, 404/403 ........ relist (404: the kind's API is absent)
//   no response, dropped stream, 5xx, 429 ........................ watch again from the last resourceVersion
//   silent past `silenceLimitMs` (watchdog) ........................ close, relist at once
//   every `relistIntervalMs` (periodic) ............................ close, relist, log what the watch missed
// The watchdog default is 2 minutes: the API server's watch cache sends a bookmark to every
// watcher that asked for them about once a minute (cacher's bookmarkFrequency), so two missed
// bookmarks in a row means the stream is stalled, while one late bookmark is not enough to pay
// for a relist. A watch that ends by its server-side timeoutSeconds (jittered 5-10 min) is the
// normal rollover: watched again at once, no restart counted. Time comes from an injected Clock.
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../core/policy/clock.js';
import { ExponentialBackoff, type BackoffPolicy } from '../../core/policy/exponential-backoff.js';
import { KubeApiError, type KubeApi, type KubeStream } from './kube-api.js';
import { objectKeyOf, resourceVersionOf, slimObject } from './object-slim.js';
import type { WatchMetrics } from './watch-metrics.js';
import { collectionPath, type WatchedKind } from './watched-kinds.js';

export const REFLECTOR_DEFAULTS = {
  pageSize: 500,
  /** Server-side watch timeout, drawn uniformly from this range (seconds) for each watch. */
  watchTimeoutSeconds: [300, 600] as readonly [number, number],
  /** 2x the API server's ~1 min bookmark interval (see the header). */
  silenceLimitMs: 120_000,
  /** Periodic relist, jittered +-10%. */
  relistIntervalMs: 600_000,
  backoff: { initialMs: 500, maxMs: 30_000, factor: 2 } satisfies BackoffPolicy,
  requestTimeoutMs: 60_000,
};

/** Why a list/watch was restarted (the `reason` label of ambit_controller_watch_restarts_total). */
export type RestartReason =
  | 'expired' // 410: the resourceVersion or continue token was compacted away
  | 'throttled' // 429
  | 'server-error' // 5xx
  | 'network' // no HTTP response (refused, reset, timeout)
  | 'dropped' // the watch connection broke mid-stream
  | 'closed-early' // the server ended the watch long before its timeout, with nothing sent
  | 'parse' // a line or a page that is not what the protocol says
  | 'silent' // the watchdog: no event and no bookmark for silenceLimitMs
  | 'absent' // 404: the kind's API is not served (CRDs not installed)
  | 'forbidden' // 403: RBAC
  | 'unauthorized' // 401
  | 'client-error'; // another 4xx

export type RelistReason = 'initial' | 'expired' | 'silent' | 'periodic' | 'error';

export type ReflectorState = 'listing' | 'watching' | 'backoff' | 'absent' | 'forbidden' | 'stopped';

/** One cached object: its resourceVersion and its slim JSON (what the store validates). */
export interface CachedObject {
  rv: string;
  text: string;
}

export interface ReflectorStatus {
  kind: string;
  state: ReflectorState;
  objects: number;
  resourceVersion: string;
  /** ISO time of the last watch event or bookmark. */
  lastEventAt?: string | undefined;
  restarts: number;
  lastRestartReason?: RestartReason | undefined;
  lastError?: string | undefined;
  relists: number;
  lastRelistAt?: string | undefined;
}

export interface ReflectorOptions {
  api: KubeApi;
  kind: WatchedKind;
  logger: Logger;
  metrics: WatchMetrics;
  /** Called after every change of the cache (the store debounces). */
  onChange: () => void;
  clock?: Clock;
  random?: () => number;
  pageSize?: number;
  watchTimeoutSeconds?: readonly [number, number];
  silenceLimitMs?: number;
  relistIntervalMs?: number;
  backoff?: BackoffPolicy;
  requestTimeoutMs?: number;
  /** What is cached of each object; slimObject by default (bench/kube-store compares with whole objects). */
  slim?: (kind: WatchedKind, raw: unknown) => object;
}

interface ListPage {
  metadata?: { resourceVersion?: unknown; continue?: unknown };
  items?: unknown;
}

interface WatchEvent {
  type?: unknown;
  object?: { metadata?: { resourceVersion?: unknown }; code?: unknown; reason?: unknown; message?: unknown };
}

type WatchEnd = 'timeout' | 'silent' | 'periodic' | 'stopped';

/** A watch line longer than this without a newline is refused (a broken stream, not an object). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

const protocolError = (reason: string, message: string, cause?: unknown): KubeApiError =>
  new KubeApiError(message, 0, reason, undefined, cause);

/** How a failure is recovered from. Pure. */
export function classifyFailure(err: unknown): { reason: RestartReason; relist: boolean } {
  if (!(err instanceof KubeApiError)) return { reason: 'parse', relist: true };
  if (err.status === 0) {
    if (err.reason === 'ParseError') return { reason: 'parse', relist: true };
    if (err.reason === 'Dropped') return { reason: 'dropped', relist: false };
    if (err.reason === 'ClosedEarly') return { reason: 'closed-early', relist: false };
    return { reason: 'network', relist: false };
  }
  if (err.status === 410) return { reason: 'expired', relist: true };
  if (err.status === 429) return { reason: 'throttled', relist: false };
  if (err.status >= 500) return { reason: 'server-error', relist: false };
  if (err.status === 404) return { reason: 'absent', relist: true };
  if (err.status === 403) return { reason: 'forbidden', relist: true };
  if (err.status === 401) return { reason: 'unauthorized', relist: false };
  return { reason: 'client-error', relist: true };
}

export class Reflector {
  private cache = new Map<string, CachedObject>();
  private rv = '';
  private state: ReflectorState = 'listing';
  private stopped = false;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: ExponentialBackoff;
  private readonly path: string;
  private readonly slim: (kind: WatchedKind, raw: unknown) => object;
  private readonly label: { kind: string };
  private relistDue = false;
  private relistTimer: { clear(): void } | undefined;
  private sleepTimer: { clear(): void; wake(): void } | undefined;
  private endWatch: ((why: 'periodic' | 'stopped') => void) | undefined;
  private settle: (() => void) | undefined;
  private stats: Omit<ReflectorStatus, 'kind' | 'state' | 'objects' | 'resourceVersion'> = {
    restarts: 0,
    relists: 0,
  };
  /** Resolves once the first list succeeded, or failed with 404/403 (the kind is then empty). */
  readonly firstSync: Promise<void>;

  constructor(private readonly o: ReflectorOptions) {
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.backoff = new ExponentialBackoff(o.backoff ?? REFLECTOR_DEFAULTS.backoff, {
      clock: this.clock,
      random: this.random,
    });
    this.path = collectionPath(o.kind);
    this.slim = o.slim ?? slimObject;
    this.label = { kind: o.kind.kind };
    this.firstSync = new Promise((resolve) => (this.settle = resolve));
  }

  get kind(): WatchedKind {
    return this.o.kind;
  }

  /** The cache (namespace/name -> object); read-only for callers. */
  objects(): ReadonlyMap<string, CachedObject> {
    return this.cache;
  }

  status(): ReflectorStatus {
    return {
      kind: this.o.kind.kind,
      state: this.state,
      objects: this.cache.size,
      resourceVersion: this.rv,
      ...this.stats,
    };
  }

  start(): void {
    void this.run();
  }

  /** Ends the loop: closes an open watch and cancels timers. A request in flight is dropped when it returns. */
  stop(): void {
    this.stopped = true;
    this.state = 'stopped';
    this.relistTimer?.clear();
    this.sleepTimer?.wake();
    this.endWatch?.('stopped');
  }

  private async run(): Promise<void> {
    let relist: RelistReason | undefined = 'initial';
    while (!this.stopped) {
      try {
        if (this.relistDue && relist === undefined) relist = 'periodic';
        if (relist !== undefined) {
          await this.list(relist);
          relist = undefined;
          if (this.stopped) return;
        }
        const end = await this.watch();
        switch (end) {
          case 'timeout':
            break; // the normal rollover: watch again from the last resourceVersion
          case 'periodic':
            relist = 'periodic';
            break;
          case 'silent':
            this.restarted('silent', `no event or bookmark for ${this.silenceLimitMs} ms`);
            relist = 'silent';
            break;
          case 'stopped':
            return;
          default: {
            const never: never = end;
            throw new Error(`unknown watch end ${String(never)}`);
          }
        }
      } catch (err) {
        if (this.stopped) return;
        const c = classifyFailure(err);
        const message = (err as Error).message;
        this.restarted(c.reason, message);
        if (c.relist && relist === undefined) relist = c.reason === 'expired' ? 'expired' : 'error';
        if (c.reason === 'absent' || c.reason === 'forbidden') this.unavailable(c.reason);
        const retryAfter = err instanceof KubeApiError ? (err.retryAfterMs ?? 0) : 0;
        const delay = Math.max(this.backoff.next(), retryAfter);
        this.o.logger.warn(
          { kind: this.o.kind.kind, reason: c.reason, err: message, delayMs: delay, relist: relist ?? false },
          `${this.o.kind.kind} list/watch failed (${c.reason}); retrying`,
        );
        if (this.state !== 'absent' && this.state !== 'forbidden') this.state = 'backoff';
        await this.sleep(delay);
      }
    }
  }

  private get silenceLimitMs(): number {
    return this.o.silenceLimitMs ?? REFLECTOR_DEFAULTS.silenceLimitMs;
  }

  private restarted(reason: RestartReason, message: string): void {
    this.stats.restarts += 1;
    this.stats.lastRestartReason = reason;
    this.stats.lastError = message;
    this.o.metrics.restarts.inc({ ...this.label, reason });
  }

  /** 404/403: it counts as synced so the mesh can start; 404 also empties the kind. */
  private unavailable(state: 'absent' | 'forbidden'): void {
    if (this.state !== state) {
      this.o.logger.warn(
        { kind: this.o.kind.kind, path: this.path },
        state === 'absent'
          ? `${this.o.kind.kind}: the API is not served (CRD not installed?); retrying, other kinds keep working`
          : `${this.o.kind.kind}: list/watch forbidden (RBAC); retrying, other kinds keep working`,
      );
    }
    this.state = state;
    // absent: the objects are gone with their API. forbidden: keep what was listed (a Role that
    // allows list but not watch must not make the kind flap in and out of the mesh)
    if (state === 'absent' && this.cache.size > 0) {
      this.rv = '';
      this.cache = new Map();
      this.o.metrics.objects.set(this.label, 0);
      this.o.onChange();
    }
    this.settle?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimeout(() => {
        this.sleepTimer = undefined;
        resolve();
      }, ms);
      this.sleepTimer = {
        clear: () => t.clear(),
        wake: () => {
          t.clear();
          this.sleepTimer = undefined;
          resolve();
        },
      };
    });
  }

  private scheduleRelist(): void {
    this.relistTimer?.clear();
    const every = this.o.relistIntervalMs ?? REFLECTOR_DEFAULTS.relistIntervalMs;
    this.relistTimer = this.clock.setTimeout(
      () => {
        this.relistDue = true;
        this.endWatch?.('periodic');
      },
      Math.round(every * (0.9 + 0.2 * this.random())),
    );
  }

  /** A full paginated list; replaces the cache and logs what it finds out of step with it. */
  private async list(reason: RelistReason): Promise<void> {
    this.state = 'listing';
    this.stats.relists += 1;
    this.stats.lastRelistAt = new Date(this.clock.now()).toISOString();
    this.o.metrics.relists.inc({ ...this.label, reason });
    const fresh = new Map<string, CachedObject>();
    let cont: string | undefined;
    let rv = '';
    let expiredRestarts = 0;
    for (;;) {
      let page: ListPage;
      try {
        page = await this.o.api.request<ListPage>({
          path: this.path,
          query: { limit: this.o.pageSize ?? REFLECTOR_DEFAULTS.pageSize, continue: cont },
          timeoutMs: this.o.requestTimeoutMs ?? REFLECTOR_DEFAULTS.requestTimeoutMs,
        });
      } catch (err) {
        // a continue token older than the compacted history: start this list again from the top
        if (cont !== undefined && err instanceof KubeApiError && err.status === 410 && expiredRestarts < 3) {
          expiredRestarts += 1;
          this.restarted('expired', err.message);
          this.o.metrics.relists.inc({ ...this.label, reason: 'expired' });
          this.o.logger.info({ kind: this.o.kind.kind }, 'continue token expired mid-list; listing again');
          fresh.clear();
          cont = undefined;
          continue;
        }
        throw err;
      }
      if (this.stopped) return;
      const items = page?.items;
      const pageRv = page?.metadata?.resourceVersion;
      if (!Array.isArray(items) || typeof pageRv !== 'string') {
        throw protocolError(
          'ParseError',
          `list ${this.path}: the response is not a list (no items/resourceVersion)`,
        );
      }
      for (const item of items) {
        fresh.set(objectKeyOf(item), {
          rv: resourceVersionOf(item),
          text: JSON.stringify(this.slim(this.o.kind, item)),
        });
      }
      rv = pageRv;
      const next = page.metadata?.continue;
      if (typeof next !== 'string' || next === '') break;
      cont = next;
    }
    const drift = this.replace(fresh);
    if (reason !== 'initial' && drift.added + drift.modified + drift.deleted > 0) {
      this.o.logger.warn(
        { kind: this.o.kind.kind, reason, ...drift },
        `${this.o.kind.kind} relist found objects the watch missed`,
      );
    }
    this.rv = rv;
    this.relistDue = false;
    this.scheduleRelist();
    this.settle?.();
  }

  /** Swaps in a listed cache; counts what differs from the old one. */
  private replace(fresh: Map<string, CachedObject>): {
    added: number;
    modified: number;
    deleted: number;
    deletedNames: string[];
  } {
    let added = 0;
    let modified = 0;
    const deletedNames: string[] = [];
    for (const [k, v] of fresh) {
      const old = this.cache.get(k);
      if (!old) added += 1;
      else if (old.text !== v.text) modified += 1;
      // the same text: keep the old string, which the validation cache also holds (one copy, not two)
      else v.text = old.text;
    }
    for (const k of this.cache.keys()) if (!fresh.has(k)) deletedNames.push(k);
    const changed = added + modified + deletedNames.length > 0;
    this.cache = fresh;
    this.o.metrics.objects.set(this.label, fresh.size);
    if (added) this.o.metrics.drift.inc({ ...this.label, type: 'ADDED' }, added);
    if (modified) this.o.metrics.drift.inc({ ...this.label, type: 'MODIFIED' }, modified);
    if (deletedNames.length)
      this.o.metrics.drift.inc({ ...this.label, type: 'DELETED' }, deletedNames.length);
    if (changed) this.o.onChange();
    return { added, modified, deleted: deletedNames.length, deletedNames: deletedNames.slice(0, 20) };
  }

  private async watch(): Promise<WatchEnd> {
    const [lo, hi] = this.o.watchTimeoutSeconds ?? REFLECTOR_DEFAULTS.watchTimeoutSeconds;
    const timeoutSeconds = lo + Math.floor(this.random() * (hi - lo + 1));
    const stream = await this.o.api.stream({
      path: this.path,
      query: { watch: true, resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds },
      timeoutMs: this.o.requestTimeoutMs ?? REFLECTOR_DEFAULTS.requestTimeoutMs,
    });
    if (this.stopped) {
      stream.close();
      return 'stopped';
    }
    if (this.relistDue) {
      stream.close();
      return 'periodic';
    }
    this.state = 'watching';
    return this.consume(stream, timeoutSeconds);
  }

  /** Reads newline-delimited JSON events until the stream ends, fails, stalls or is ended by us. */
  private consume(stream: KubeStream, timeoutSeconds: number): Promise<WatchEnd> {
    const started = this.clock.now();
    let events = 0;
    return new Promise<WatchEnd>((resolve, reject) => {
      let done = false;
      let watchdog: { clear(): void } | undefined;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        watchdog?.clear();
        this.endWatch = undefined;
        f();
      };
      const arm = (): void => {
        watchdog?.clear();
        watchdog = this.clock.setTimeout(
          () =>
            finish(() => {
              stream.close();
              resolve('silent');
            }),
          this.silenceLimitMs,
        );
      };
      arm();
      this.endWatch = (why) =>
        finish(() => {
          stream.close();
          resolve(why);
        });
      const fail = (err: KubeApiError): void =>
        finish(() => {
          stream.close();
          reject(err);
        });
      const decoder = new StringDecoder('utf8');
      let buf = '';
      const handleLine = (line: string): boolean => {
        if (line.trim() === '') return true;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch (err) {
          fail(
            protocolError(
              'ParseError',
              `watch ${this.path}: an event is not JSON: ${line.slice(0, 120)}`,
              err,
            ),
          );
          return false;
        }
        const problem = this.apply(event);
        if (problem) {
          fail(problem);
          return false;
        }
        events += 1;
        if (events === 1) this.backoff.reset(); // the watch works: the next failure starts small
        arm();
        return true;
      };
      stream.body.on('data', (chunk: Buffer | string) => {
        if (done) return;
        buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!handleLine(line)) return;
          nl = buf.indexOf('\n');
        }
        if (buf.length > MAX_LINE_BYTES) {
          fail(protocolError('ParseError', `watch ${this.path}: a line over ${MAX_LINE_BYTES} bytes`));
        }
      });
      stream.body.on('end', () => {
        if (done) return;
        buf += decoder.end();
        if (buf.trim() !== '' && !handleLine(buf)) return;
        // a watch that ended well before its timeout is a misbehaving server or proxy: back off
        // (from initialMs when it delivered events) rather than spin
        const lived = this.clock.now() - started;
        if (lived < (timeoutSeconds * 1000) / 2) {
          fail(
            protocolError(
              'ClosedEarly',
              `watch ${this.path} ended after ${lived} ms (${events} events), before its ${timeoutSeconds} s timeout`,
            ),
          );
          return;
        }
        finish(() => resolve('timeout'));
      });
      // 'error' stays listened to after finish: a destroyed stream may still emit one
      stream.body.on('error', (err: Error) =>
        fail(protocolError('Dropped', `watch ${this.path}: ${err.message}`, err)),
      );
      stream.body.on('close', () => fail(protocolError('Dropped', `watch ${this.path}: connection closed`)));
    });
  }

  /** Applies one event to the cache; returns the failure an ERROR event or a bad event means. */
  private apply(event: WatchEvent): KubeApiError | undefined {
    const type = typeof event.type === 'string' ? event.type : '';
    const obj = event.object;
    if (typeof obj !== 'object' || obj === null) {
      return protocolError('ParseError', `watch ${this.path}: ${type || 'an'} event without an object`);
    }
    this.o.metrics.events.inc({ ...this.label, type: type || 'UNKNOWN' });
    if (type === 'ERROR') {
      const code = typeof obj.code === 'number' ? obj.code : 0;
      const reason = typeof obj.reason === 'string' ? obj.reason : undefined;
      const message = typeof obj.message === 'string' ? obj.message : 'watch ERROR event';
      return new KubeApiError(
        `watch ${this.path}: ${code} ${reason ?? ''}: ${message}`,
        code,
        reason,
        undefined,
      );
    }
    const now = this.clock.now();
    this.stats.lastEventAt = new Date(now).toISOString();
    this.o.metrics.lastEvent.set(this.label, now / 1000);
    const rv = resourceVersionOf(obj);
    switch (type) {
      case 'BOOKMARK':
        if (rv) this.rv = rv;
        return undefined;
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKeyOf(obj);
        const text = JSON.stringify(this.slim(this.o.kind, obj));
        const old = this.cache.get(key);
        this.cache.set(key, { rv, text: old?.text === text ? old.text : text });
        if (rv) this.rv = rv;
        this.o.metrics.objects.set(this.label, this.cache.size);
        if (old?.text !== text) this.o.onChange();
        return undefined;
      }
      case 'DELETED': {
        const had = this.cache.delete(objectKeyOf(obj));
        if (rv) this.rv = rv;
        this.o.metrics.objects.set(this.label, this.cache.size);
        if (had) this.o.onChange();
        return undefined;
      }
      default:
        return protocolError('ParseError', `watch ${this.path}: unknown event type "${type}"`);
    }
  }
}
