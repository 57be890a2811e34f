// The waypoint's telemetry in one place, as the request pipeline's RequestObserver: Istio's
// request metrics with reporter="waypoint" (telemetry/waypoint-metrics.ts), one access-log line
// per request (telemetry/request-log.ts), and trace spans (telemetry/tracing.ts): a server span
// per request and a client span per attempt, exported over OTLP/HTTP when an endpoint is set.
import type { Logger } from 'pino';
import type { MeshService } from '../core/model/mesh.js';
import type { Credential } from '../ztunnel/identity/credential.js';
import type { L7Request } from './routing/l7-request.js';
import type { RequestEnd, RequestObserver, RequestTrace, TunnelContext } from './proxy/request-pipeline.js';
import { requestLabels, sourceFromBaggage } from './telemetry/request-labels.js';
import { WaypointMetrics } from './telemetry/waypoint-metrics.js';
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
        url: `http://${l7.authority}${l7.path}${l7.query ? `?${l7.query}` : ''}`,
        httpProtocol: l7.protocol === 'http1' ? 'HTTP/1.1' : 'HTTP/2',
        peerAddress: ctx.clientIp,
        ...(t.kind === 'service' ? { serviceNamespace: t.service.namespace } : {}),
      }),
    );
  }

  end(l7: L7Request, ctx: TunnelContext, trace: RequestTrace, e: RequestEnd): void {
    const labels = requestLabels({
      source: sourceFromBaggage(ctx.baggage, ctx.peer.principal),
      destination: {
        ...(e.service ? { service: e.service } : {}),
        ...(e.workload ? { workload: e.workload, principal: e.workload.identity } : {}),
      },
      protocol: e.protocol,
      responseCode: e.status,
      ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      flags: e.flags,
    });
    this.metrics.requestDone(labels, {
      durationMs: e.durationMs,
      requestBytes: e.bytesIn,
      responseBytes: e.bytesOut,
    });
    if (e.flags.split(',').includes('UO') && e.service)
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
