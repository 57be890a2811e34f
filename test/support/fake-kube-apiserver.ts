// A stand-in Kubernetes API server on loopback that speaks the real list/watch protocol over HTTP,
// for the controller's Kubernetes store, TokenReview bootstrap, leader election and the waypoint
// reconciler. What it does as the real one does:
// - one global resourceVersion counter; every write bumps it and is kept in an event history;
// - LIST with `limit`/`continue` (the continue token pins the list's resourceVersion; a token
//   older than the compacted history answers 410 Expired), `resourceVersion` in list metadata,
//   items without kind/apiVersion for built-in types (with them for custom resources);
// - WATCH (`watch=true`) from a resourceVersion as chunked newline-delimited JSON events, ERROR
//   events carrying a 410 Status when that version was compacted away, BOOKMARK events when the
//   client asked `allowWatchBookmarks`, `timeoutSeconds`;
// - GET/POST/PUT/PATCH (merge patch)/DELETE with optimistic concurrency (409 Conflict on a stale
//   metadata.resourceVersion, 409 AlreadyExists on a duplicate create), the /status subresource,
//   uid/creationTimestamp/generation, managedFields on every object (so stripping is testable),
//   and garbage collection of objects whose ownerReferences name a deleted uid.
// Faults a test can inject: 429 with Retry-After, 5xx, dropped watch connections, silent (stalled)
// watches, compaction, expired continue tokens, deletes that produce no event, watch events split across chunks (and
// packets), an API group that is not served (404: CRDs not installed). Custom endpoints
// (TokenReview) via route().
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: unknown[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface ResourceType {
  group: string; // '' for core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  builtin: boolean;
}

const T = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  builtin = true,
): ResourceType => ({ group, version, plural, kind, namespaced, builtin });

/** The resource types the stand-in serves (what Ambit reads or writes). */
export const RESOURCE_TYPES: ResourceType[] = [
  T('', 'v1', 'namespaces', 'Namespace', false),
  T('', 'v1', 'nodes', 'Node', false),
  T('', 'v1', 'pods', 'Pod', true),
  T('', 'v1', 'services', 'Service', true),
  T('', 'v1', 'serviceaccounts', 'ServiceAccount', true),
  T('', 'v1', 'configmaps', 'ConfigMap', true),
  T('', 'v1', 'secrets', 'Secret', true),
  T('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  T('apps', 'v1', 'deployments', 'Deployment', true),
  T('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true),
  T('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  T('gateway.networking.k8s.io', 'v1', 'gateways', 'Gateway', true, false),
  T('gateway.networking.k8s.io', 'v1', 'gatewayclasses', 'GatewayClass', false, false),
  T('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute', true, false),
  T('gateway.networking.k8s.io', 'v1', 'grpcroutes', 'GRPCRoute', true, false),
  T('security.ambit.dev', 'v1', 'authorizationpolicies', 'AuthorizationPolicy', true, false),
  T('security.ambit.dev', 'v1', 'peerauthentications', 'PeerAuthentication', true, false),
  T('networking.ambit.dev', 'v1alpha1', 'trafficpolicies', 'TrafficPolicy', true, false),
];

const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);

export function typeOfKind(kind: string): ResourceType {
  const t = RESOURCE_TYPES.find((x) => x.kind === kind);
  if (!t) throw new Error(`fake API server: unknown kind ${kind}`);
  return t;
}

interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  typeKey: string;
  object: KubeObject;
}

interface Watcher {
  type: ResourceType;
  namespace: string | undefined;
  bookmarks: boolean;
  res: http.ServerResponse;
  silent: boolean;
  sentRv: number;
  /** Writes in flight when events are split (kept in order). */
  tail: Promise<void>;
  pending: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  at: number;
}

export type RouteHandler = (
  body: unknown,
  req: { method: string; path: string; query: Record<string, string>; headers: http.IncomingHttpHeaders },
) => { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;

interface Parsed {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

const typeKey = (t: ResourceType): string => `${t.group}/${t.plural}`;
const objKey = (t: ResourceType, ns: string | undefined, name: string): string =>
  `${typeKey(t)}/${ns ?? ''}/${name}`;

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function status(code: number, reason: string, message: string, retryAfterSeconds?: number) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(retryAfterSeconds === undefined ? {} : { details: { retryAfterSeconds } }),
  };
}

export class FakeKubeApiServer {
  private server: http.Server | undefined;
  private rv = 1000;
  private readonly objects = new Map<string, { type: ResourceType; object: KubeObject }>();
  private history: StoredEvent[] = [];
  /** Watches from a resourceVersion below this get 410 (the history before it was compacted). */
  private compactedRv = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly routes: { method: string; pattern: RegExp; handler: RouteHandler }[] = [];
  private throttleLeft = 0;
  private throttleRetryAfter = 1;
  private failLeft = 0;
  private failStatus = 500;
  private refuseWatches = false;
  private splitEvents = false;
  private expireContinueLeft = 0;
  private readonly unservedGroups = new Set<string>();
  private bookmarkTimer: NodeJS.Timeout | undefined;
  /** Every request, in order (for assertions on the protocol the client speaks). */
  readonly requests: RequestRecord[] = [];
  /** Bearer tokens accepted; empty = any request is authorised. */
  readonly tokens = new Set<string>();
  url = '';

  constructor(private readonly opts: { bookmarkIntervalMs?: number } = {}) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const a = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${a.port}`;
    const every = this.opts.bookmarkIntervalMs ?? 1_000;
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), every);
    this.bookmarkTimer.unref();
    return this;
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A kubeconfig file pointing at this server with a bearer token. Plain http on loopback needs
   * insecure-skip-tls-verify: @kubernetes/client-node refuses an http server without it. */
  writeKubeconfig(token = 'test-token', dir = mkdtempSync(path.join(os.tmpdir(), 'ambit-kube-'))): string {
    const file = path.join(dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: fake, cluster: {server: "' + this.url + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: fake, user: {token: "' + token + '"}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  // ---- the store, for tests ----

  get resourceVersion(): string {
    return String(this.rv);
  }

  list(kind: string, namespace?: string): KubeObject[] {
    const t = typeOfKind(kind);
    return [...this.objects.values()]
      .filter((o) => o.type === t && (namespace === undefined || o.object.metadata.namespace === namespace))
      .map((o) => structuredClone(o.object));
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(objKey(typeOfKind(kind), namespace, name));
    return o ? structuredClone(o.object) : undefined;
  }

  /** Creates or replaces an object (by its kind), as a controller-less write would; emits an event. */
  apply(obj: KubeObject): KubeObject {
    const kind = obj.kind;
    if (!kind) throw new Error('fake API server: apply() needs kind');
    const t = typeOfKind(kind);
    const ns = t.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const existing = this.objects.get(objKey(t, ns, obj.metadata.name));
    return this.write(t, ns, structuredClone(obj), existing?.object);
  }

  /** Deletes an object and emits DELETED (and garbage-collects what it owned). */
  delete(kind: string, namespace: string | undefined, name: string): boolean {
    const t = typeOfKind(kind);
    return this.remove(t, t.namespaced ? namespace : undefined, name, true);
  }

  /** Deletes an object without any watch event: only a relist can notice (a missed delete). */
  deleteSilently(kind: string, namespace: string | undefined, name: string): boolean {
    const t = typeOfKind(kind);
    return this.remove(t, t.namespaced ? namespace : undefined, name, false);
  }

  // ---- faults ----

  /** Forget the event history: watches from any resourceVersion up to now answer 410. */
  compact(): void {
    this.compactedRv = this.rv + 1;
    this.history = [];
  }

  /** The next `n` list requests that carry a continue token answer 410 Expired (as after a compaction mid-list). */
  expireContinueTokens(n: number): void {
    this.expireContinueLeft = n;
  }

  /** The next `n` requests answer 429 with `Retry-After: seconds`. */
  throttle(n: number, retryAfterSeconds: number): void {
    this.throttleLeft = n;
    this.throttleRetryAfter = retryAfterSeconds;
  }

  /** The next `n` requests answer `code` (500 by default). */
  failNext(n: number, code = 500): void {
    this.failLeft = n;
    this.failStatus = code;
  }

  /** Cut every open watch connection (the TCP connection is destroyed mid-stream). */
  dropWatches(): number {
    const n = this.watchers.size;
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    return n;
  }

  /** While true, new watch requests are refused with 503 (an API server restart). */
  setRefuseWatches(on: boolean): void {
    this.refuseWatches = on;
  }

  /** While true, each watch event line is written in three pieces a few ms apart: a client sees
   * events split across chunks, mid-line and mid-character. */
  splitWatchEvents(on: boolean): void {
    this.splitEvents = on;
  }

  /** Whether an API group is served; an unserved one answers 404 as when its CRDs are not installed. */
  setGroupServed(group: string, served: boolean): void {
    if (served) this.unservedGroups.delete(group);
    else {
      this.unservedGroups.add(group);
      for (const w of this.watchers) if (w.type.group === group) w.res.destroy();
    }
  }

  /** Open watches stay connected but receive nothing more, bookmarks included (a stalled watch). */
  silenceWatches(): number {
    for (const w of this.watchers) w.silent = true;
    return this.watchers.size;
  }

  /** How many watch connections are open (optionally of one kind). */
  openWatches(kind?: string): number {
    return [...this.watchers].filter((w) => kind === undefined || w.type.kind === kind).length;
  }

  /** A custom endpoint (e.g. POST .../tokenreviews), tried before the generic resources. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method, pattern, handler });
  }

  // ---- protocol ----

  private parsePath(p: string): Parsed | undefined {
    const parts = p.split('/').filter(Boolean);
    let group: string, version: string, rest: string[];
    if (parts[0] === 'api' && parts[1]) {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    } else return undefined;
    const find = (plural: string | undefined) =>
      RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && find(rest[2])?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const type = find(rest[0]);
    if (!type) return undefined;
    return { type, namespace, name: rest[1], subresource: rest[2] };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query, at: Date.now() });
    const send = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (this.tokens.size > 0) {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !this.tokens.has(auth.slice(7))) {
        send(401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
    }
    if (this.throttleLeft > 0) {
      this.throttleLeft -= 1;
      send(
        429,
        status(429, 'TooManyRequests', 'the server has received too many requests', this.throttleRetryAfter),
        { 'retry-after': String(this.throttleRetryAfter) },
      );
      return;
    }
    if (this.failLeft > 0) {
      this.failLeft -= 1;
      send(this.failStatus, status(this.failStatus, 'InternalError', 'injected failure'));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      send(400, status(400, 'BadRequest', 'body is not JSON'));
      return;
    }
    for (const r of this.routes) {
      if (r.method === method && r.pattern.test(url.pathname)) {
        const out = await r.handler(body, { method, path: url.pathname, query, headers: req.headers });
        send(out.status, out.body);
        return;
      }
    }
    const p = this.parsePath(url.pathname);
    if (!p || this.unservedGroups.has(p.type.group)) {
      send(404, status(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`));
      return;
    }
    try {
      if (method === 'GET' && p.name === undefined) {
        if (query.watch === 'true' || query.watch === '1') this.watch(p, query, res);
        else send(200, this.listResponse(p, query));
        return;
      }
      if (method === 'GET' && p.name !== undefined) {
        const o = this.objects.get(objKey(p.type, p.namespace, p.name));
        if (!o) send(404, status(404, 'NotFound', `${p.type.plural} "${p.name}" not found`));
        else send(200, withKind(p.type, o.object));
        return;
      }
      if (method === 'POST' && p.name === undefined) {
        const obj = body as KubeObject;
        const name = obj.metadata.name;
        if (this.objects.has(objKey(p.type, p.namespace, name))) {
          send(409, status(409, 'AlreadyExists', `${p.type.plural} "${name}" already exists`));
          return;
        }
        send(201, withKind(p.type, this.write(p.type, p.namespace, obj, undefined)));
        return;
      }
      if ((method === 'PUT' || method === 'PATCH') && p.name !== undefined) {
        const existing = this.objects.get(objKey(p.type, p.namespace, p.name));
        if (!existing) {
          send(404, status(404, 'NotFound', `${p.type.plural} "${p.name}" not found`));
          return;
        }
        const incoming = body as KubeObject;
        let next: KubeObject;
        if (method === 'PUT') {
          const want = incoming.metadata.resourceVersion;
          if (want !== undefined && want !== existing.object.metadata.resourceVersion) {
            send(
              409,
              status(
                409,
                'Conflict',
                `Operation cannot be fulfilled on ${p.type.plural} "${p.name}": the object has been modified; please apply your changes to the latest version and try again`,
              ),
            );
            return;
          }
          next = incoming;
        } else {
          const ct = req.headers['content-type'] ?? '';
          if (!ct.includes('merge-patch') && !ct.includes('strategic-merge-patch')) {
            send(415, status(415, 'UnsupportedMediaType', `the fake API server does not take ${ct}`));
            return;
          }
          next = mergePatch(existing.object, body) as KubeObject;
        }
        if (p.subresource === 'status') {
          next = { ...structuredClone(existing.object), status: next.status };
        } else if (p.subresource === undefined && p.type.kind !== 'Lease') {
          next = { ...next, status: existing.object.status };
        }
        send(200, withKind(p.type, this.write(p.type, p.namespace, next, existing.object)));
        return;
      }
      if (method === 'DELETE' && p.name !== undefined) {
        const o = this.objects.get(objKey(p.type, p.namespace, p.name));
        if (!o) {
          send(404, status(404, 'NotFound', `${p.type.plural} "${p.name}" not found`));
          return;
        }
        this.remove(p.type, p.namespace, p.name, true);
        send(200, withKind(p.type, o.object));
        return;
      }
      send(405, status(405, 'MethodNotAllowed', `${method} ${url.pathname}`));
    } catch (err) {
      const gone = (err as { gone?: boolean; status?: unknown }).gone;
      if (gone) send(410, (err as { status?: unknown }).status);
      else send(500, status(500, 'InternalError', (err as Error).message));
    }
  }

  private listResponse(p: Parsed, query: Record<string, string>): unknown {
    const limit = query.limit ? Number(query.limit) : 0;
    let offset = 0;
    let listRv = this.rv;
    if (query.continue) {
      const [rvText, offText] = Buffer.from(query.continue, 'base64url').toString().split(':');
      listRv = Number(rvText);
      offset = Number(offText);
      const forced = this.expireContinueLeft > 0;
      if (forced) this.expireContinueLeft -= 1;
      if (forced || listRv < this.compactedRv) {
        const e = new Error('continue token expired') as Error & { status: unknown };
        e.status = status(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
        throw Object.assign(e, { gone: true });
      }
    }
    // a paginated list is a snapshot at listRv: rebuild it from the live objects and the history
    const all = this.snapshotAt(p, listRv);
    const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
    const next = limit > 0 && offset + limit < all.length ? offset + limit : undefined;
    return {
      kind: `${p.type.kind}List`,
      apiVersion: apiVersionOf(p.type),
      metadata: {
        resourceVersion: String(listRv),
        ...(next === undefined
          ? {}
          : {
              continue: Buffer.from(`${listRv}:${next}`).toString('base64url'),
              remainingItemCount: all.length - next,
            }),
      },
      items: page.map((o) => (p.type.builtin ? stripKind(o) : withKind(p.type, o))),
    };
  }

  /** Objects of a type as they were at `rv` (live state with later history undone). */
  private snapshotAt(p: Parsed, rv: number): KubeObject[] {
    const state = new Map<string, KubeObject>();
    for (const [k, o] of this.objects) {
      if (o.type !== p.type) continue;
      if (p.namespace !== undefined && o.object.metadata.namespace !== p.namespace) continue;
      state.set(k, o.object);
    }
    for (let i = this.history.length - 1; i >= 0; i--) {
      const e = this.history[i];
      if (!e || e.rv <= rv) break;
      if (e.typeKey !== typeKey(p.type)) continue;
      if (p.namespace !== undefined && e.object.metadata.namespace !== p.namespace) continue;
      const k = objKey(p.type, e.object.metadata.namespace, e.object.metadata.name);
      // undo e: find the previous version in history, if any
      const prev = this.history
        .slice(0, i)
        .reverse()
        .find((x) => objKey(p.type, x.object.metadata.namespace, x.object.metadata.name) === k);
      if (prev && prev.type !== 'DELETED') state.set(k, prev.object);
      else state.delete(k);
    }
    // not cloned here: the page items are cloned by withKind/stripKind
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => o);
  }

  private watch(p: Parsed, query: Record<string, string>, res: http.ServerResponse): void {
    if (this.refuseWatches) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify(status(503, 'ServiceUnavailable', 'watches refused (injected)')));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = query.resourceVersion ? Number(query.resourceVersion) : this.rv;
    const w: Watcher = {
      type: p.type,
      namespace: p.namespace,
      bookmarks: query.allowWatchBookmarks === 'true',
      res,
      silent: false,
      sentRv: from,
      tail: Promise.resolve(),
      pending: 0,
    };
    if (from !== 0 && from < this.compactedRv - 1) {
      res.write(
        JSON.stringify({
          type: 'ERROR',
          object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv - 1})`),
        }) + '\n',
      );
      res.end();
      return;
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
    for (const e of this.history) if (e.rv > from) this.deliver(w, e);
    if (query.timeoutSeconds) {
      const t = setTimeout(
        () => {
          this.watchers.delete(w);
          res.end();
        },
        Number(query.timeoutSeconds) * 1000,
      );
      t.unref();
      res.on('close', () => clearTimeout(t));
    }
  }

  private deliver(w: Watcher, e: StoredEvent): void {
    if (w.silent || e.typeKey !== typeKey(w.type) || e.rv <= w.sentRv) return;
    if (w.namespace !== undefined && e.object.metadata.namespace !== w.namespace) return;
    w.sentRv = e.rv;
    this.send(w, JSON.stringify({ type: e.type, object: withKind(w.type, e.object) }) + '\n');
  }

  /** One event line to a watcher: whole, or (splitWatchEvents) in three pieces 5 ms apart, in order. */
  private send(w: Watcher, line: string): void {
    if (!this.splitEvents && w.pending === 0) {
      w.res.write(line);
      return;
    }
    const bytes = Buffer.from(line);
    const pieces = this.splitEvents ? 3 : 1;
    const cuts = [0, Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3), bytes.length];
    w.pending += 1;
    w.tail = w.tail.then(async () => {
      for (let i = 0; i < pieces; i++) {
        if (w.res.destroyed || w.res.writableEnded) break;
        w.res.write(pieces === 1 ? bytes : bytes.subarray(cuts[i], cuts[i + 1]));
        if (pieces > 1) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      w.pending -= 1;
    });
  }

  private sendBookmarks(): void {
    for (const w of this.watchers) {
      if (w.silent || !w.bookmarks) continue;
      this.send(
        w,
        JSON.stringify({
          type: 'BOOKMARK',
          object: {
            kind: w.type.kind,
            apiVersion: apiVersionOf(w.type),
            metadata: { resourceVersion: String(this.rv) },
          },
        }) + '\n',
      );
    }
  }

  private write(
    t: ResourceType,
    ns: string | undefined,
    obj: KubeObject,
    previous: KubeObject | undefined,
  ): KubeObject {
    this.rv += 1;
    const prevMeta = previous?.metadata;
    const specChanged = JSON.stringify(previous?.spec) !== JSON.stringify(obj.spec);
    const stored: KubeObject = {
      ...obj,
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      metadata: {
        ...obj.metadata,
        ...(t.namespaced ? { namespace: ns ?? 'default' } : {}),
        uid: prevMeta?.uid ?? obj.metadata.uid ?? randomUUID(),
        creationTimestamp: prevMeta?.creationTimestamp ?? new Date().toISOString(),
        generation: (prevMeta?.generation ?? 0) + (previous === undefined || specChanged ? 1 : 0),
        resourceVersion: String(this.rv),
        managedFields: [
          {
            manager: 'kubectl-client-side-apply',
            operation: 'Update',
            apiVersion: apiVersionOf(t),
            time: new Date().toISOString(),
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:metadata': { 'f:labels': {}, 'f:annotations': {} }, 'f:spec': {} },
          },
        ],
      },
    };
    if (!t.namespaced) delete stored.metadata.namespace;
    this.objects.set(objKey(t, ns, obj.metadata.name), { type: t, object: stored });
    this.record({ rv: this.rv, type: previous ? 'MODIFIED' : 'ADDED', typeKey: typeKey(t), object: stored });
    return structuredClone(stored);
  }

  private remove(t: ResourceType, ns: string | undefined, name: string, emit: boolean): boolean {
    const k = objKey(t, ns, name);
    const o = this.objects.get(k);
    if (!o) return false;
    this.objects.delete(k);
    this.rv += 1;
    const gone = { ...o.object, metadata: { ...o.object.metadata, resourceVersion: String(this.rv) } };
    if (emit) this.record({ rv: this.rv, type: 'DELETED', typeKey: typeKey(t), object: gone });
    // garbage collection: dependents whose owner is gone
    const uid = o.object.metadata.uid;
    for (const [, d] of [...this.objects]) {
      if (d.object.metadata.ownerReferences?.some((r) => r.uid === uid)) {
        this.remove(d.type, d.object.metadata.namespace, d.object.metadata.name, true);
      }
    }
    return true;
  }

  private record(e: StoredEvent): void {
    this.history.push(e);
    if (this.history.length > 50_000) {
      const dropped = this.history.splice(0, 10_000);
      const last = dropped[dropped.length - 1];
      if (last) this.compactedRv = last.rv + 1;
    }
    for (const w of this.watchers) this.deliver(w, e);
  }
}

function withKind(t: ResourceType, o: KubeObject): KubeObject {
  return { ...structuredClone(o), apiVersion: apiVersionOf(t), kind: t.kind };
}

function stripKind(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  delete c.apiVersion;
  delete c.kind;
  return c;
}
