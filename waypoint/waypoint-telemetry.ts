// The waypoint's telemetry in one place, as the request pipeline's RequestObserver: Istio's
// request metrics with reporter="waypoint" (telemetry/waypoint-metrics.ts), one access-log line
// per request (telemetry/request-log.ts), and trace spans (telemetry/tracing.ts): a server span
// per request and a client span per attempt, exported over OTLP/HTTP when an endpoint is set.
import type { Logger } from 'pino';
import type { MeshService } from '../core/model/mesh.js';
import type { Credential } from '../ztunnel/identity/credential.js';
import type { L7Request } from './routing/l7-request.js';
import type { RequestEnd, RequestObserver, RequestTrace, TunnelContext } from './proxy/request-pipeline.js';
import {
  requestLabels,
  sourceFromBaggage,
  type RequestLabels,
  type RequestSource,
} from './telemetry/request-labels.js';
import { WaypointMetrics, type RequestChildren } from './telemetry/waypoint-metrics.js';
import { logRequest } from './telemetry/request-log.js';
import { WaypointTracer, type ServerSpan } from './telemetry/tracing.js';

/** A request's trace scope: its server span, and a client span per attempt. */
class SpanTrace implements RequestTrace {
  constructor(readonly server: ServerSpan) {}

  get traceId(): string {
    return this.server.traceId;
  }

  attempt(n: number, endpoint: string) {
    const a = this.server.startAttempt(n + 1, endpoint);
    return { headers: a.headers(), end: (status: number, error?: string) => a.end(status, error) };
  }
}

/** Distinct sources, and distinct label sets, cached before the caches start over. */
const MAX_CACHED = 10_000;

interface LabelledChildren {
  labels: RequestLabels;
  children: RequestChildren;
}

export interface WaypointTelemetryOptions {
  logger: Logger;
  waypoint: { namespace: string; name: string };
  otlpEndpoint: string | undefined;
  samplingPercent: number;
  random: () => number;
}

export class WaypointTelemetry implements RequestObserver {
  readonly metrics = new WaypointMetrics();
  private readonly tracer: WaypointTracer;

  constructor(private readonly o: WaypointTelemetryOptions) {
    this.tracer = new WaypointTracer({
      ...(o.otlpEndpoint ? { endpoint: o.otlpEndpoint } : {}),
      samplingPercent: o.samplingPercent,
      random: o.random,
      proxy: o.waypoint,
    });
  }

  get contentType(): string {
    return this.metrics.contentType;
  }

  metricsText(): Promise<string> {
    return this.metrics.text();
  }

  start(l7: L7Request, ctx: TunnelContext): RequestTrace {
    const t = ctx.target;
    const host = t.kind === 'service' ? t.service.hostname : l7.authority;
    return new SpanTrace(
      this.tracer.startServer({
        headers: l7.headers,
        tunnelTraceparent: ctx.traceparent,
        serviceHost: host,
        port: t.kind === 'service' ? t.port.port : t.port,
        method: l7.method,
        // a span attribute only: not built when no span can be recorded
        url: this.tracer.exporting ? `http://${l7.authority}${l7.path}${l7.query ? `?${l7.query}` : ''}` : '',
        httpProtocol: l7.protocol === 'http1' ? 'HTTP/1.1' : 'HTTP/2',
        peerAddress: ctx.clientIp,
        ...(t.kind === 'service' ? { serviceNamespace: t.service.namespace } : {}),
      }),
    );
  }

  /**
   * The request metrics' label set and children for one request, cached: a label set depends only
   * on the tunnel's source (baggage, principal), the destination Service and Workload objects of
   * the snapshot, the protocol, the codes and the flags, so the 25 labels are built and hashed once
   * per distinct combination rather than per request. Bounded: starts over past 10,000 entries.
   */
  private labelled(ctx: TunnelContext, e: RequestEnd): LabelledChildren {
    const srcKey = `${ctx.baggage ?? ''}\u0001${ctx.peer.principal}`;
    let src = this.sources.get(srcKey);
    if (!src) {
      if (this.sources.size >= MAX_CACHED) this.sources.clear();
      src = { id: this.nextId++, source: sourceFromBaggage(ctx.baggage, ctx.peer.principal) };
      this.sources.set(srcKey, src);
    }
    const key = `${src.id}|${e.service ? this.idOf(e.service) : 0}|${e.workload ? this.idOf(e.workload) : 0}|${e.protocol}|${e.status}|${e.grpcStatus ?? ''}|${e.flags}`;
    let c = this.labelSets.get(key);
    if (!c) {
      if (this.labelSets.size >= MAX_CACHED) this.labelSets.clear();
      const labels = requestLabels({
        source: src.source,
        destination: {
          ...(e.service ? { service: e.service } : {}),
          ...(e.workload ? { workload: e.workload, principal: e.workload.identity } : {}),
        },
        protocol: e.protocol,
        responseCode: e.status,
        ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
        flags: e.flags,
      });
      c = { labels, children: this.metrics.childrenOf(labels) };
      this.labelSets.set(key, c);
    }
    return c;
  }

  /** A number per snapshot object (Service, Workload): a new snapshot's objects get new ones. */
  private idOf(o: object): number {
    let id = this.objectIds.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.objectIds.set(o, id);
    }
    return id;
  }

  private readonly sources = new Map<string, { id: number; source: RequestSource }>();
  private readonly labelSets = new Map<string, LabelledChildren>();
  private readonly objectIds = new WeakMap<object, number>();
  private nextId = 1;

  end(l7: L7Request, ctx: TunnelContext, trace: RequestTrace, e: RequestEnd): void {
    const { children } = this.labelled(ctx, e);
    WaypointMetrics.observe(children, {
      durationMs: e.durationMs,
      requestBytes: e.bytesIn,
      responseBytes: e.bytesOut,
    });
    if (e.flags !== '-' && e.flags.split(',').includes('UO') && e.service)
      this.metrics.poolOverflows.inc({ service: e.service.hostname });
    const span = trace instanceof SpanTrace ? trace : undefined;
    span?.server.end({
      status: e.status,
      flags: e.flags,
      grpcStatus: e.grpcStatus,
      requestBytes: e.bytesIn,
      responseBytes: e.bytesOut,
      error: e.error,
    });
    const ua = l7.headers['user-agent'];
    const rid = l7.headers['x-request-id'];
    if (e.policy && e.status === 403) this.metrics.authzDenials.inc({ policy: e.policy });
    // the entry is built only when the line is written (a level above info turns it off)
    if (!this.o.logger.isLevelEnabled('info')) return;
    logRequest(this.o.logger, {
      method: l7.method,
      authority: l7.authority,
      path: l7.query ? `${l7.path}?${l7.query}` : l7.path,
      protocol: e.protocol,
      httpVersion: l7.protocol === 'http1' ? '1.1' : '2',
      responseCode: e.status,
      ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      flags: e.flags,
      durationMs: Math.round(e.durationMs * 1000) / 1000,
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
      ...(e.endpoint ? { upstream: e.endpoint } : {}),
      attempts: e.attempts,
      ...(e.route ? { route: e.route } : {}),
      ...(e.service ? { service: e.service.hostname } : {}),
      ...(ctx.peer.principal ? { sourcePrincipal: ctx.peer.principal } : {}),
      sourceIp: ctx.clientIp,
      ...(e.policy ? { policy: e.policy } : {}),
      ...(span ? { traceId: span.traceId } : {}),
      ...(typeof rid === 'string' ? { requestId: rid } : {}),
      ...(typeof ua === 'string' ? { userAgent: ua } : {}),
      ...(e.error ? { error: e.error } : {}),
    });
  }

  retried(service: MeshService): void {
    this.metrics.retries.inc({ service: service.hostname });
  }

  inFlight(d: 1 | -1): void {
    this.metrics.inFlight.inc(d);
  }

  upstreamConnections(d: 1 | -1): void {
    this.metrics.upstreamConnections.inc(d);
  }

  configVersion(): void {
    this.metrics.configVersion.inc();
  }

  certExpiry(c: Credential): void {
    this.metrics.certExpiry.set(
      { identity: c.identity },
      Math.round((c.notAfter.getTime() - Date.now()) / 1000),
    );
  }

  shutdown(): Promise<void> {
    return this.tracer.shutdown();
  }
}
