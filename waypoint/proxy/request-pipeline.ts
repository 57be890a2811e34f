// One request through the waypoint, from the client's head to the last byte of the answer:
// L7 authorization, route selection (Gateway API GAMMA semantics), redirects, rewrites and header
// filters, fault injection, mirroring (fire and forget), the weighted backend pick, then attempts
// to endpoints (load balancer, outlier detection, connection-pool limits, retry policy and budget,
// per-try and whole-request timeouts), and the answer streamed back. Everything that decides is a
// pure module (routing/, resilience/, policy/); this file only sequences them and moves bytes.
// Telemetry goes out once per request through RequestObserver (metrics, access log, spans).
import type { OutgoingHttpHeaders } from 'node:http';
import type { MeshBackendRef, MeshService, ServicePort, Workload } from '../../core/model/mesh.js';
import type { RouteFilter } from '../../core/model/resources/gateway-api-common.js';
import type { HttpRouteMatch } from '../../core/model/resources/http-route.js';
import { parseForwarded } from '../../ztunnel/hbone/hbone-headers.js';
import type { HbonePeer } from '../../ztunnel/hbone/hbone-server.js';
import { requestProtocol, splitPathAndQuery, type L7Request } from '../routing/l7-request.js';
import { selectRoute } from '../routing/route-table.js';
import { modifyHeaders, redirectOf, rewriteUrl } from '../routing/filters.js';
import { mirrorFires, pickBackend } from '../routing/backend-pick.js';
import { authorizeRequest } from '../policy/authorize-request.js';
import { decideFault } from '../resilience/fault-injection.js';
import { RetryState, retrySpecOf, type AttemptOutcome } from '../resilience/retry-policy.js';
import { joinFlags, type ResponseFlag } from '../resilience/response-flags.js';
import type { TunnelTarget, WaypointSnapshot } from '../state/waypoint-snapshot.js';
import type { UpstreamEndpoint, UpstreamPool } from '../upstream/upstream-pool.js';
import { GRPC, grpcStatusOfHttp, type DownstreamRequest, type DownstreamResponse } from './downstream.js';
import { RequestBody } from './request-body.js';
import { CancelSignal } from '../net/cancel-signal.js';
import { endToEndHeaders, sendAttempt, type AttemptRequest, type AttemptResult } from './upstream-attempt.js';
import type { ServiceResilience } from './service-resilience.js';

/** What the HBONE tunnel a request came in on says about it. */
export interface TunnelContext {
  snapshot: () => WaypointSnapshot;
  target: TunnelTarget;
  peer: HbonePeer;
  /** The client pod's address from the tunnel's forwarded header (else the peer's). */
  clientIp: string;
  /** The tunnel's baggage header: the source workload's names (telemetry). */
  baggage: string | undefined;
  /** The tunnel's traceparent, the parent of the request when the request itself carries none. */
  traceparent: string | undefined;
}

/** How a request ended, for metrics, the access log and the server span. */
export interface RequestEnd {
  status: number;
  grpcStatus: string | undefined;
  /** Envoy response flags, comma-joined (`-` for none). */
  flags: string;
  /** The AuthorizationPolicy that refused it (403). */
  policy?: string | undefined;
  /** What went wrong upstream, for the log and the span. */
  error?: string | undefined;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  attempts: number;
  endpoint: string | undefined;
  route: string | undefined;
  service: MeshService | undefined;
  workload: Workload | undefined;
  protocol: 'http' | 'grpc';
}

/** The per-request telemetry hooks (metrics, access log, trace spans): the Waypoint supplies them. */
export interface RequestObserver {
  /** Called when the request starts; returns its trace scope. */
  start(l7: L7Request, ctx: TunnelContext): RequestTrace;
  end(l7: L7Request, ctx: TunnelContext, trace: RequestTrace, e: RequestEnd): void;
  retried(service: MeshService): void;
}

export interface RequestTrace {
  /** Starts the client span of attempt n; returns the trace headers for the upstream request. */
  attempt(
    n: number,
    endpoint: string,
  ): { headers: Record<string, string>; end(status: number, error?: string): void };
}

export interface PipelineDeps {
  upstream: UpstreamPool;
  resilience: (service: MeshService, snap: WaypointSnapshot) => ServiceResilience;
  observer: RequestObserver;
  /** The Gateway this waypoint implements. */
  waypoint: { namespace: string; name: string };
  random: () => number;
  /** Draining: ask clients to close (Connection: close on HTTP/1.1). */
  draining: () => boolean;
}

const DENIED_BODY = 'RBAC: access denied\n';

interface Answer {
  status: number;
  flags: ResponseFlag;
  body?: string;
  headers?: OutgoingHttpHeaders;
  grpc?: number;
}

export class RequestPipeline {
  constructor(private readonly d: PipelineDeps) {}

  async handle(req: DownstreamRequest, res: DownstreamResponse, ctx: TunnelContext): Promise<void> {
    const started = performance.now();
    const snap = ctx.snapshot();
    const { path, query } = splitPathAndQuery(req.url ?? '/');
    const headers = { ...req.headers };
    const l7: L7Request = {
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      query,
      headers,
      authority: String(req.headers[':authority'] ?? req.headers.host ?? ''),
      protocol: requestProtocol(req.httpVersionMajor, req.headers['content-type']),
    };
    const grpc = l7.protocol === 'grpc';
    const trace = this.d.observer.start(l7, ctx);
    const body = new RequestBody(req);
    // The client going away stops the work done for it: the attempt in flight, retries, waits.
    const gone = new CancelSignal();
    res.once('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    let bytesOut = 0;
    let attempts = 0;
    let endpointName: string | undefined;
    let routeName: string | undefined;
    let service: MeshService | undefined = ctx.target.kind === 'service' ? ctx.target.service : undefined;
    let workload: Workload | undefined = ctx.target.kind === 'workload' ? ctx.target.workload : undefined;
    let ended = false;
    /** Flags gathered on the way (DI, URX), joined with the final one. */
    const flagSet = new Set<Exclude<ResponseFlag, '-'>>();
    let deniedBy: string | undefined;
    let upstreamError: string | undefined;
    const finish = (status: number, flag: ResponseFlag, grpcStatus: string | undefined): void => {
      if (ended) return;
      ended = true;
      if (flag !== '-') flagSet.add(flag);
      this.d.observer.end(l7, ctx, trace, {
        status,
        grpcStatus,
        flags: joinFlags([...flagSet]),
        policy: deniedBy,
        error: upstreamError,
        bytesIn: body.size,
        bytesOut,
        durationMs: performance.now() - started,
        attempts,
        endpoint: endpointName,
        route: routeName,
        service,
        workload,
        protocol: grpc ? 'grpc' : 'http',
      });
    };
    const answer = (a: Answer): void => {
      body.detach();
      req.resume();
      if (res.headersSent || res.destroyed) {
        res.destroy();
        finish(a.status, a.flags, undefined);
        return;
      }
      const extra = this.d.draining() && req.httpVersionMajor < 2 ? { connection: 'close' } : {};
      if (grpc && (a.status >= 400 || a.grpc !== undefined)) {
        const code = a.grpc ?? grpcStatusOfHttp(a.status);
        res.writeHead(200, {
          'content-type': 'application/grpc',
          'grpc-status': String(code),
          'grpc-message': encodeURIComponent(a.body?.trim() ?? ''),
          ...extra,
        });
        res.end();
        finish(200, a.flags, String(code));
        return;
      }
      const text = Buffer.from(a.body ?? '');
      res.writeHead(a.status, {
        'content-type': 'text/plain',
        'content-length': String(text.length),
        ...a.headers,
        ...extra,
      });
      bytesOut += text.length;
      if (text.length) res.write(text);
      res.end();
      finish(a.status, a.flags, undefined);
    };

    // 1. L7 authorization (DENY before ALLOW); the body reveals nothing of the policy.
    const authz = authorizeRequest(
      snap.authorizationPolicies,
      {
        gateway: this.d.waypoint,
        service: service ? { namespace: service.namespace, name: service.name } : undefined,
      },
      {
        principal: ctx.peer.principal,
        sourceIp: ctx.clientIp,
        method: l7.method,
        path: req.url ?? '/',
        host: l7.authority,
        port: ctx.target.kind === 'service' ? ctx.target.port.port : ctx.target.port,
        headers,
      },
    );
    if (authz.kind === 'deny') {
      deniedBy = authz.policy;
      answer({ status: 403, flags: 'DENY', body: DENIED_BODY });
      return;
    }

    // 2. Route: the rule, its filters and its backends; or the Service itself; or a direct pod.
    let backendRefs: readonly MeshBackendRef[] | undefined;
    let ruleFilters: RouteFilter[] = [];
    let match: HttpRouteMatch | undefined;
    let retryRule: Parameters<typeof retrySpecOf>[0];
    let requestTimeoutMs: number | undefined;
    let backendTimeoutMs: number | undefined;
    if (ctx.target.kind === 'service') {
      const decision = selectRoute(snap.routeTable(ctx.target.service, ctx.target.port.port), l7);
      if (decision.kind === 'no-match') {
        answer({ status: 404, flags: 'NR', body: 'no route matched\n', grpc: GRPC.UNIMPLEMENTED });
        return;
      }
      if (decision.kind === 'rule') {
        routeName = `${decision.route.namespace}/${decision.route.name}${decision.rule.name ? `/${decision.rule.name}` : ''}`;
        backendRefs = decision.rule.backendRefs;
        ruleFilters = decision.rule.filters;
        match = decision.match;
        retryRule = decision.rule.retry;
        // Gateway API: a zero duration ("0s") disables the timeout
        requestTimeoutMs = decision.rule.timeouts?.requestMs || undefined;
        backendTimeoutMs = decision.rule.timeouts?.backendRequestMs || undefined;
      }
    }

    let authority = l7.authority;
    let upstreamPath = req.url ?? '/';
    let upstreamHeaders: OutgoingHttpHeaders = endToEndHeaders(headers);
    let responseModifiers: NonNullable<RouteFilter['responseHeaderModifier']>[] = [];
    const mirrors: NonNullable<RouteFilter['requestMirror']>[] = [];
    const applyFilters = (filters: readonly RouteFilter[]): Answer | undefined => {
      for (const f of filters) {
        if (f.requestRedirect) {
          const port = ctx.target.kind === 'service' ? ctx.target.port.port : ctx.target.port;
          const r = redirectOf(l7, match, f.requestRedirect, port);
          return { status: r.status, flags: '-', headers: { location: r.location } };
        }
        if (f.requestHeaderModifier)
          upstreamHeaders = modifyHeaders(upstreamHeaders, f.requestHeaderModifier);
        if (f.responseHeaderModifier) responseModifiers = [...responseModifiers, f.responseHeaderModifier];
        if (f.urlRewrite) {
          const rw = rewriteUrl({ ...l7, authority }, match, f.urlRewrite);
          authority = rw.authority;
          upstreamPath = rw.path + (l7.query ? `?${l7.query}` : '');
        }
        if (f.requestMirror) mirrors.push(f.requestMirror);
      }
      return undefined;
    };
    const redirect = applyFilters(ruleFilters);
    if (redirect) {
      answer(redirect);
      return;
    }

    // 3. The backend: a weighted pick among the rule's backends, or the addressed Service / pod.
    let backendService: MeshService | undefined;
    let backendPort: ServicePort | number | undefined;
    if (backendRefs !== undefined) {
      const picked = pickBackend(backendRefs, this.d.random);
      if (!picked || picked.invalid) {
        answer({ status: 500, flags: 'NR', body: 'no valid backend\n', grpc: GRPC.UNAVAILABLE });
        return;
      }
      const again = applyFilters(picked.filters);
      if (again) {
        answer(again);
        return;
      }
      backendService = snap.serviceByKey.get(`${picked.namespace}/${picked.name}`);
      backendPort = backendService?.ports.find((p) => p.port === picked.port);
      if (!backendService || !backendPort) {
        answer({ status: 500, flags: 'NR', body: 'backend not known\n', grpc: GRPC.UNAVAILABLE });
        return;
      }
    } else if (ctx.target.kind === 'service') {
      backendService = ctx.target.service;
      backendPort = ctx.target.port;
    } else {
      backendPort = ctx.target.port;
    }
    service = backendService ?? service;

    // 4. Per-Service resilience: faults, retry policy, pool limits, outlier detection, balancing.
    const rs = backendService ? this.d.resilience(backendService, snap) : undefined;
    const policy = rs?.policy;
    const fault = decideFault(policy?.fault, this.d.random);

    // 5. Mirrors: fire and forget, once the body is whole; never delays or fails the client.
    for (const m of mirrors) {
      if (!mirrorFires(m, this.d.random)) continue;
      const mirrorSvc = snap.serviceByKey.get(
        `${m.backendRef.namespace ?? service?.namespace ?? ''}/${m.backendRef.name}`,
      );
      const mirrorPort = mirrorSvc?.ports.find((p) => p.port === m.backendRef.port) ?? mirrorSvc?.ports[0];
      if (mirrorSvc && mirrorPort)
        this.mirror(snap, mirrorSvc, mirrorPort, body, {
          method: l7.method,
          path: upstreamPath,
          authority,
          headers: upstreamHeaders,
          protocol: req.httpVersionMajor >= 2 ? 'http2' : 'http1',
        });
    }

    if (fault.delayMs !== undefined && fault.delayMs > 0) {
      flagSet.add('DI');
      await sleep(fault.delayMs);
    }
    if (fault.abort) {
      if ('httpStatus' in fault.abort)
        answer({ status: fault.abort.httpStatus, flags: 'FI', body: 'fault filter abort\n' });
      else answer({ status: 200, flags: 'FI', grpc: fault.abort.grpcStatus, body: 'fault filter abort' });
      return;
    }

    // 6. Attempts.
    const spec = retrySpecOf(retryRule, policy?.retry);
    const retry = new RetryState(spec, l7.method, this.d.random);
    const perTryMs = backendTimeoutMs ?? spec.perTryTimeoutMs;
    const deadline = requestTimeoutMs !== undefined ? started + requestTimeoutMs : undefined;
    const hashKey = rs?.hashKey(headers);
    const lease = rs?.limits.tryAcquireRequest();
    if (lease === 'overflow') {
      answer({
        status: 503,
        flags: 'UO',
        body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow\n',
      });
      return;
    }
    rs?.budget.requestStarted();
    const protocol: AttemptRequest['protocol'] = req.httpVersionMajor >= 2 ? 'http2' : 'http1';
    let result: AttemptResult | undefined;
    let lastFlags: ResponseFlag = '-';
    let lastDetail = '';
    let inRetry = false;
    try {
      for (;;) {
        if (gone.aborted) {
          lastFlags = 'DC';
          result = undefined;
          break;
        }
        const now = performance.now();
        if (deadline !== undefined && now >= deadline) {
          lastFlags = 'UT';
          result = undefined;
          break;
        }
        // the endpoint: the pod itself, or the balancer's pick among the healthy ready endpoints
        let ep: UpstreamEndpoint | undefined;
        if (backendService && rs && typeof backendPort === 'object') {
          // built once per snapshot; filtered only when outlier detection took some out
          const usable = snap.endpointsOf(backendService, backendPort);
          const healthy = rs.outliers.healthy(usable.keys);
          let candidates = usable.entries;
          if (healthy.length !== usable.keys.length) {
            const ok = new Set(healthy);
            candidates = candidates.filter((u) => ok.has(u.key));
          }
          const pick = rs.lb.pick(candidates, hashKey !== undefined ? { hashKey } : {});
          const chosen = pick && candidates.find((c) => c.key === pick.key);
          const node = chosen ? snap.nodeByName.get(chosen.endpoint.node) : undefined;
          if (chosen && node) {
            ep = { ip: chosen.endpoint.ip, port: chosen.port, node };
            workload = snap.workloadByUid.get(chosen.endpoint.workloadUid);
          }
        } else if (ctx.target.kind === 'workload') {
          const node = snap.nodeByName.get(ctx.target.workload.node);
          if (node && typeof backendPort === 'number')
            ep = { ip: ctx.target.workload.ips[0] ?? '', port: backendPort, node };
        }
        if (!ep) {
          lastFlags = 'UH';
          lastDetail = 'no healthy upstream';
          result = undefined;
          break;
        }
        endpointName = `${ep.ip}:${ep.port}`;
        const attemptSpan = trace.attempt(attempts, endpointName);
        attempts++;
        const remaining = deadline !== undefined ? deadline - performance.now() : undefined;
        const tryMs = minDefined(perTryMs, remaining);
        rs?.lb.started(endpointName);
        const r = await sendAttempt(
          this.d.upstream,
          ep,
          {
            method: l7.method,
            path: upstreamPath,
            authority,
            headers: { ...upstreamHeaders, ...attemptSpan.headers },
            protocol,
            body,
            live: attempts === 1,
            signal: gone,
          },
          tryMs,
          {
            maxConnections: policy?.connectionPool?.tcp?.maxConnections,
            maxRequestsPerConnection: policy?.connectionPool?.http?.maxRequestsPerConnection,
            ...(rs ? { pending: () => rs.limits.tryAcquirePending() } : {}),
          },
        );
        if (r.kind === 'overflow') {
          rs?.lb.finished(endpointName);
          attemptSpan.end(0, r.detail);
          answer({ status: 503, flags: 'UO', body: `upstream overflow: ${r.detail}\n` });
          return;
        }
        rs?.lb.finished(endpointName);
        const outcome: AttemptOutcome =
          r.kind === 'response' ? { kind: 'response', status: r.status, ...grpcOf(r) } : r.outcome;
        attemptSpan.end(r.kind === 'response' ? r.status : 0, r.kind === 'failure' ? r.detail : undefined);
        rs?.outliers.record(endpointName, outlierOutcome(outcome));
        if (r.kind === 'failure' && gone.aborted) {
          lastFlags = 'DC';
          upstreamError = r.detail;
          result = undefined;
          break;
        }
        if (r.kind === 'failure') {
          lastFlags =
            r.outcome.kind === 'connect-failure' ? 'UF' : r.outcome.kind === 'timeout' ? 'UT' : 'UC';
          lastDetail = r.detail;
          upstreamError = r.detail;
          body.detach();
        }
        const verdict = retry.next(outcome);
        if (!verdict.retry) {
          if (verdict.why === 'attempts-exhausted' && retry.retried > 0) flagSet.add('URX');
          result = r;
          break;
        }
        if (deadline !== undefined && performance.now() + verdict.delayMs >= deadline) {
          // the next try would start past the whole-request timeout: it is the timeout that ends
          // the request (504 UT, as Envoy's global timeout), not this attempt's failure
          if (r.kind === 'response') {
            r.body.resume();
            r.abort();
          }
          await sleep(Math.max(0, deadline - performance.now()));
          lastFlags = 'UT';
          result = undefined;
          break;
        }
        if (inRetry) rs?.budget.retryEnded();
        if (rs && !rs.budget.tryStartRetry()) {
          flagSet.add('URX'); // the budget said no: the failure stands
          result = r;
          break;
        }
        inRetry = true;
        if (service) this.d.observer.retried(service);
        if (r.kind === 'response') {
          r.body.resume(); // discard the answer we retry past
          r.abort();
        }
        // a replay needs the whole body: wait for the client to finish sending it
        if (!body.ended) await body.whenEnded();
        if (!body.replayable()) {
          result = r;
          break;
        }
        await sleep(verdict.delayMs);
      }
    } finally {
      if (inRetry) rs?.budget.retryEnded();
      rs?.budget.requestEnded();
      lease?.release();
    }

    if (lastFlags === 'DC') {
      // nobody to answer: Istio reports such a request with response code 0
      res.destroy();
      finish(0, 'DC', undefined);
      return;
    }
    if (!result || result.kind === 'failure') {
      const timedOut = lastFlags === 'UT';
      answer({
        status: timedOut ? 504 : 503,
        flags: lastFlags,
        body: timedOut
          ? 'upstream request timeout\n'
          : `upstream connect error or disconnect/reset before headers. ${lastDetail}\n`,
      });
      return;
    }

    // 7. The answer, streamed back with the response header filters applied.
    const r = result;
    let outHeaders: OutgoingHttpHeaders = endToEndHeaders(r.headers);
    for (const m of responseModifiers) outHeaders = modifyHeaders(outHeaders, m);
    if (this.d.draining() && req.httpVersionMajor < 2) outHeaders.connection = 'close';
    if (res.destroyed) {
      r.abort();
      finish(r.status, 'DC', undefined);
      return;
    }
    res.writeHead(r.status, outHeaders);
    const headerGrpc = grpcOf(r).grpcStatus;
    let wholeTimer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      wholeTimer = setTimeout(
        () => {
          r.abort();
          res.destroy();
          finish(r.status, 'UT', headerGrpc);
        },
        Math.max(0, deadline - performance.now()),
      );
    }
    await new Promise<void>((resolve) => {
      const onData = (c: Buffer): void => {
        bytesOut += c.length;
        if (!res.write(c)) {
          r.body.pause();
          res.once('drain', () => r.body.resume());
        }
      };
      const ended = (): void => {
        const trailers = r.trailers();
        if (trailers) {
          const t = endToEndHeaders(trailers);
          if (Object.keys(t).length) res.addTrailers(t);
        }
        res.end();
        const grpcStatus =
          trailers?.['grpc-status'] !== undefined ? String(trailers['grpc-status']) : headerGrpc;
        finish(r.status, '-', grpc ? (grpcStatus ?? String(GRPC.OK)) : undefined);
        resolve();
      };
      // A body-less answer (an HTTP/2 trailers-only gRPC status) may have ended already: node:http2
      // reads such a stream to its end on its own, and 'end' does not fire twice.
      if (r.body.readableEnded) {
        ended();
        return;
      }
      r.body.on('data', onData);
      r.body.once('end', ended);
      r.body.once('error', () => {
        res.destroy();
        finish(r.status, 'UC', headerGrpc);
        resolve();
      });
      res.once('close', () => {
        if (!res.writableEnded) {
          r.abort();
          finish(r.status, 'DC', headerGrpc);
        }
        resolve();
      });
    });
    if (wholeTimer) clearTimeout(wholeTimer);
  }

  /** Sends a copy of the request to a mirror Service; its answer is read and dropped. */
  private mirror(
    snap: WaypointSnapshot,
    svc: MeshService,
    port: ServicePort,
    body: RequestBody,
    r: Omit<AttemptRequest, 'body' | 'live'>,
  ): void {
    void (async () => {
      await body.whenEnded();
      if (!body.replayable()) return;
      const { entries } = snap.endpointsOf(svc, port);
      const e = entries[Math.floor(this.d.random() * entries.length)];
      const node = e && snap.nodeByName.get(e.endpoint.node);
      if (!e || !node) return;
      const res = await sendAttempt(
        this.d.upstream,
        { ip: e.endpoint.ip, port: e.port, node },
        { ...r, authority: `${r.authority}-shadow`, body, live: false },
        MIRROR_TIMEOUT_MS,
      );
      if (res.kind === 'response') {
        res.body.on('error', () => undefined);
        res.body.resume();
      }
    })().catch(() => undefined);
  }
}

/** A mirror that does not answer within this long is abandoned. */
const MIRROR_TIMEOUT_MS = 10_000;

function grpcOf(r: AttemptResult): { grpcStatus?: string } {
  if (r.kind !== 'response') return {};
  const s = r.headers['grpc-status'];
  return s === undefined ? {} : { grpcStatus: String(s) };
}

function outlierOutcome(o: AttemptOutcome): 'success' | '5xx' | 'gateway-error' {
  if (o.kind === 'response') {
    if (o.status === 502 || o.status === 503 || o.status === 504) return 'gateway-error';
    return o.status >= 500 ? '5xx' : 'success';
  }
  return 'gateway-error';
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b === undefined ? undefined : Math.max(1, b);
  if (b === undefined) return a;
  return Math.max(1, Math.min(a, b));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The client's address: the tunnel's forwarded `for=`, else the HBONE peer's. */
export function clientIpOf(forwarded: string | undefined, peer: HbonePeer): string {
  return parseForwarded(forwarded).ip ?? peer.address;
}
