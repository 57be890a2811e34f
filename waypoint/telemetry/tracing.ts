// The waypoint's trace spans (DESIGN §7, issue 9 §6): a SERVER span per request and a CLIENT span
// per upstream attempt, both named `<service-fqdn>:<port>/*` with Istio's span attributes, in one
// OpenTelemetry provider per destination hostname (resource service.name = that hostname),
// exported over OTLP/HTTP when an endpoint is given. Without an endpoint, or for an unsampled
// request, no span is recorded but ids are still made and propagated (trace-context.ts), so a
// trace stays whole across the mesh. It decides sampling; it never touches sockets itself.
//
// Sampling: a decision that came in with the request (W3C flag, B3 sampled/debug) is honoured;
// otherwise `samplingPercent` of requests are sampled (Istio's default is 1%). The HBONE tunnel's
// traceparent is used as parent only when the request itself carries none, and its sampled flag is
// not a decision: the source ztunnel marks every trace it starts as sampled.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { createRequire } from 'node:module';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  incomingContext,
  parseTraceparent,
  upstreamHeaders,
  type IncomingContext,
  type TraceContext,
} from './trace-context.js';
import { newSpanId, newTraceId } from '../../core/telemetry/trace-ids.js';

export const DEFAULT_SAMPLING_PERCENT = 1;

/**
 * The OpenTelemetry SDK and OTLP exporter, loaded on the first recorded span: a waypoint without
 * an endpoint never loads them (~15-19 MB of RSS). They are CommonJS packages, so require() gives
 * the very module instances an import would.
 */
interface OtelSdk {
  base: typeof SdkTraceBase;
  otlp: typeof OtlpHttp;
  resources: typeof Resources;
}
let otelSdk: OtelSdk | undefined;
const requireCjs = createRequire(import.meta.url);

function sdk(): OtelSdk {
  otelSdk ??= {
    base: requireCjs('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase,
    otlp: requireCjs('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp,
    resources: requireCjs('@opentelemetry/resources') as typeof Resources,
  };
  return otelSdk;
}

export interface WaypointTracerOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT (base URL; `/v1/traces` is appended). Absent: no export. */
  endpoint?: string | undefined;
  /** 0..100; Istio's default is 1. */
  samplingPercent: number;
  /** Sampling draws; Math.random unless given (tests). */
  random?: () => number;
  /** Who is reporting: istio.namespace, istio.canonical_service, node_id. */
  proxy?: { namespace: string; name: string; ip?: string | undefined };
  /** istio.mesh_id; the trust domain (`cluster.local`) unless given. */
  meshId?: string;
  /** Replaces the OTLP exporter (tests). */
  exporter?: (serviceName: string) => SpanExporter;
}

export interface ServerSpanStart {
  headers: Record<string, string | string[] | undefined>;
  /** The HBONE tunnel's traceparent: the parent when the request carries no context. */
  tunnelTraceparent?: string | undefined;
  /** Destination Service hostname (`cart.shop.svc.cluster.local`); the client's authority when unknown. */
  serviceHost: string;
  /** Destination Service port. */
  port: number;
  method: string;
  /** Full URL as Istio's http.url: scheme://authority/path?query. */
  url: string;
  /** `HTTP/1.1` or `HTTP/2`. */
  httpProtocol?: string | undefined;
  /** The client's address (peer.address). */
  peerAddress?: string | undefined;
  /** Destination Service namespace, for upstream_cluster. */
  serviceNamespace?: string | undefined;
}

export interface ServerSpanEnd {
  status: number;
  /** Envoy-style response flags (`-` for none). */
  flags: string;
  grpcStatus?: string | undefined;
  requestBytes?: number;
  responseBytes?: number;
  error?: string | undefined;
}

/** Max distinct hostnames with their own provider; the rest share the `unknown` one. */
const MAX_PROVIDERS = 1000;

interface ProviderEntry {
  provider: BasicTracerProvider;
  tracer: Tracer;
}

export class WaypointTracer {
  private readonly providers = new Map<string, ProviderEntry>();
  private readonly random: () => number;
  private readonly url: string | undefined;

  constructor(private readonly o: WaypointTracerOptions) {
    this.random = o.random ?? Math.random;
    this.url = o.endpoint ? `${o.endpoint.replace(/\/+$/, '')}/v1/traces` : undefined;
  }

  /** Whether spans are recorded at all (an endpoint or a test exporter). */
  get exporting(): boolean {
    return this.url !== undefined || this.o.exporter !== undefined;
  }

  /** Starts the SERVER span of one request. */
  startServer(s: ServerSpanStart): ServerSpan {
    const incoming = incomingContext(s.headers);
    if (!incoming.parent) {
      const tunnel = this.tunnelParent(s.tunnelTraceparent);
      if (tunnel) incoming.parent = tunnel;
    }
    const sampled = incoming.sampled ?? this.random() * 100 < this.o.samplingPercent;
    const name = `${s.serviceHost}:${s.port}/*`;
    const tracer = sampled && this.exporting ? this.tracerFor(s.serviceHost) : undefined;
    // attributes only for a span that is recorded: an unsampled request builds none
    return new ServerSpan(tracer, name, incoming, sampled, tracer ? this.serverAttributes(s) : {});
  }

  /**
   * The tunnel's traceparent parsed, remembered for the next request: every request of a tunnel
   * carries the same string (the parse and its regex were ~4 µs a request). Frozen: shared.
   */
  private tunnelParent(v: string | undefined): TraceContext | undefined {
    if (v !== this.lastTunnel.raw) this.lastTunnel = { raw: v, parsed: freeze(parseTraceparent(v)) };
    return this.lastTunnel.parsed;
  }

  private lastTunnel: { raw: string | undefined; parsed: TraceContext | undefined } = {
    raw: undefined,
    parsed: undefined,
  };

  private serverAttributes(s: ServerSpanStart): Attributes {
    const p = this.o.proxy;
    const ua = s.headers['user-agent'];
    const rid = s.headers['x-request-id'];
    const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const a: Attributes = {
      component: 'proxy',
      'http.method': s.method,
      'http.url': s.url,
      'istio.mesh_id': this.o.meshId ?? 'cluster.local',
      upstream_cluster: upstreamCluster(s),
      'upstream_cluster.name': upstreamCluster(s),
      downstream_cluster: first(s.headers['x-envoy-downstream-service-cluster']) ?? '-',
      user_agent: first(ua) ?? '-',
      'guid:x-request-id': first(rid) ?? '-',
    };
    if (s.httpProtocol) a['http.protocol'] = s.httpProtocol;
    if (s.peerAddress) a['peer.address'] = s.peerAddress;
    if (p) {
      a['istio.namespace'] = p.namespace;
      a['istio.canonical_service'] = p.name;
      a['istio.canonical_revision'] = 'latest';
      a.node_id = `waypoint~${p.ip ?? '0.0.0.0'}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`;
    }
    return a;
  }

  private tracerFor(hostname: string): Tracer {
    const key = this.providers.has(hostname) || this.providers.size < MAX_PROVIDERS ? hostname : 'unknown';
    let e = this.providers.get(key);
    if (!e) {
      const { base, otlp, resources } = sdk();
      const exporter = this.o.exporter
        ? this.o.exporter(key)
        : new otlp.OTLPTraceExporter(this.url ? { url: this.url } : {});
      const provider = new base.BasicTracerProvider({
        resource: resources.resourceFromAttributes({ 'service.name': key }),
        sampler: new base.AlwaysOnSampler(),
        // a batch a second (the SDK's default waits 5 s), bounded queue: spans never hold requests
        spanProcessors: [
          new base.BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000, maxQueueSize: 4096 }),
        ],
      });
      e = { provider, tracer: provider.getTracer('ambit-waypoint') };
      this.providers.set(key, e);
    }
    return e.tracer;
  }

  /** Exports what is buffered (tests, drain). */
  async flush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((e) => e.provider.forceFlush()));
  }

  /** Flushes and stops every provider. */
  async shutdown(): Promise<void> {
    const all = [...this.providers.values()];
    this.providers.clear();
    await Promise.all(all.map((e) => e.provider.shutdown()));
  }
}

function freeze<T extends object>(o: T | undefined): T | undefined {
  return o === undefined ? undefined : Object.freeze(o);
}

/** Istio's cluster name for a service port: `outbound|<port>||<hostname>`. */
function upstreamCluster(s: Pick<ServerSpanStart, 'port' | 'serviceHost'>): string {
  return `outbound|${s.port}||${s.serviceHost}`;
}

function spanContextOf(c: Pick<TraceContext, 'traceId' | 'spanId'>, sampled: boolean) {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

function statusAttributes(span: Span, status: number, error: string | undefined): void {
  span.setAttribute('http.status_code', String(status));
  if (status >= 500 || status === 0 || error !== undefined) {
    span.setAttribute('error', 'true');
    span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  }
}

/** One request's SERVER span: its context, the attempts under it, and how it ended. */
export class ServerSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  private readonly span: Span | undefined;
  private ended = false;

  constructor(
    private readonly tracer: Tracer | undefined,
    readonly name: string,
    private readonly incoming: IncomingContext,
    sampled: boolean,
    private readonly attributes: Attributes,
  ) {
    this.sampled = sampled;
    const parent = incoming.parent;
    if (tracer) {
      const ctx = parent ? spanContextOf(parent, sampled) : ROOT_CONTEXT;
      this.span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, ctx);
      const sc = this.span.spanContext();
      this.traceId = sc.traceId;
      this.spanId = sc.spanId;
    } else {
      this.span = undefined;
      this.traceId = parent?.traceId ?? newTraceId();
      this.spanId = newSpanId();
    }
  }

  /** The parent this request continued, if any (tests, logs). */
  get parent(): TraceContext | undefined {
    return this.incoming.parent;
  }

  /** Starts the CLIENT span of attempt `n` (1 for the first) to `endpoint` (`ip:port`). */
  startAttempt(n: number, endpoint?: string): AttemptSpan {
    let span: Span | undefined;
    let spanId: string;
    if (this.tracer) {
      const attrs: Attributes = { ...this.attributes, 'ambit.attempt': n };
      if (endpoint) attrs['upstream_host'] = endpoint;
      span = this.tracer.startSpan(
        this.name,
        { kind: SpanKind.CLIENT, attributes: attrs },
        spanContextOf({ traceId: this.traceId, spanId: this.spanId }, this.sampled),
      );
      spanId = span.spanContext().spanId;
    } else {
      spanId = newSpanId();
    }
    const headers = upstreamHeaders(
      { traceId: this.traceId, spanId, sampled: this.sampled },
      { b3: this.incoming.b3, parentSpanId: this.spanId, tracestate: this.incoming.tracestate },
    );
    return new AttemptSpan(span, spanId, headers);
  }

  end(e: ServerSpanEnd): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    if (!span) return;
    span.setAttribute('response_flags', e.flags || '-');
    if (e.requestBytes !== undefined) span.setAttribute('request_size', String(e.requestBytes));
    if (e.responseBytes !== undefined) span.setAttribute('response_size', String(e.responseBytes));
    if (e.grpcStatus !== undefined) span.setAttribute('grpc.status_code', e.grpcStatus);
    statusAttributes(span, e.status, e.error);
    span.end();
  }
}

/** One upstream attempt's CLIENT span. */
export class AttemptSpan {
  private ended = false;

  constructor(
    private readonly span: Span | undefined,
    readonly spanId: string,
    private readonly upstream: Record<string, string>,
  ) {}

  /** traceparent (+ tracestate, + B3 when the request carried B3) to set on the upstream request. */
  headers(): Readonly<Record<string, string>> {
    return this.upstream;
  }

  /** `status` 0 when no response came (reset, connect failure, timeout). */
  end(status: number, error?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.span) return;
    statusAttributes(this.span, status, error);
    this.span.end();
  }
}
