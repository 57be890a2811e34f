// The waypoint's Prometheus metrics on a private Registry (no default nodejs_* collectors):
// Istio's four request metrics with reporter="waypoint" and the label set of request-labels.ts,
// plus ambit_waypoint_* operational metrics. Only this file names metrics; it decides nothing.
import { Counter, Gauge, Registry } from 'prom-client';
import { RequestCounter, RequestHistogram } from './request-metric.js';
import { REQUEST_LABEL_NAMES, type RequestLabelName, type RequestLabels } from './request-labels.js';

/** Istio's default istio_request_duration_milliseconds buckets (DESIGN §7). */
export const DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

/**
 * istio_request_bytes / istio_response_bytes buckets. Istio's Envoy records them as histograms
 * with no bucket setting of their own (istio/proxy istio_stats.cc; the bootstrap sets
 * histogram_bucket_settings only from the statsHistogramBuckets annotation), so they get Envoy's
 * default buckets: the same list as the duration. (The 1, 10, ... exponential buckets were Mixer's.)
 */
export const SIZE_BUCKETS_BYTES = DURATION_BUCKETS_MS;

/** The four request metrics' children of one label set. */
export interface RequestChildren {
  total: { inc(v?: number): void };
  duration: { observe(v: number): void };
  requestBytes: { observe(v: number): void };
  responseBytes: { observe(v: number): void };
}

export interface RequestObservation {
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

export class WaypointMetrics {
  readonly registry = new Registry();
  readonly requests: RequestCounter<RequestLabelName>;
  readonly duration: RequestHistogram<RequestLabelName>;
  readonly requestBytes: RequestHistogram<RequestLabelName>;
  readonly responseBytes: RequestHistogram<RequestLabelName>;
  readonly inFlight: Gauge;
  readonly upstreamConnections: Gauge;
  readonly retries: Counter<'service'>;
  readonly outlierEjected: Gauge<'service'>;
  readonly poolOverflows: Counter<'service'>;
  readonly configVersion: Gauge;
  readonly certExpiry: Gauge<'identity'>;
  readonly authzDenials: Counter<'policy'>;

  constructor() {
    const registers = [this.registry];
    const labelNames = [...REQUEST_LABEL_NAMES];
    this.requests = new RequestCounter({
      name: 'istio_requests_total',
      help: 'Requests handled by the waypoint',
      labelNames,
      registers,
    });
    this.duration = new RequestHistogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Request duration in milliseconds, first request byte to last response byte',
      labelNames,
      buckets: [...DURATION_BUCKETS_MS],
      registers,
    });
    this.requestBytes = new RequestHistogram({
      name: 'istio_request_bytes',
      help: 'Request sizes in bytes (headers and body)',
      labelNames,
      buckets: [...SIZE_BUCKETS_BYTES],
      registers,
    });
    this.responseBytes = new RequestHistogram({
      name: 'istio_response_bytes',
      help: 'Response sizes in bytes (headers and body)',
      labelNames,
      buckets: [...SIZE_BUCKETS_BYTES],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'ambit_waypoint_requests_in_flight',
      help: 'Requests received and not yet answered',
      registers,
    });
    this.upstreamConnections = new Gauge({
      name: 'ambit_waypoint_upstream_connections',
      help: 'Upstream HBONE connections held open',
      registers,
    });
    this.retries = new Counter({
      name: 'ambit_waypoint_retries_total',
      help: 'Retry attempts sent, by destination service',
      labelNames: ['service'],
      registers,
    });
    this.outlierEjected = new Gauge({
      name: 'ambit_waypoint_outlier_ejected_endpoints',
      help: 'Endpoints currently ejected by outlier detection, by service',
      labelNames: ['service'],
      registers,
    });
    this.poolOverflows = new Counter({
      name: 'ambit_waypoint_pool_overflows_total',
      help: 'Requests refused with 503 because a connection pool limit was reached, by service',
      labelNames: ['service'],
      registers,
    });
    this.configVersion = new Gauge({
      name: 'ambit_waypoint_config_updates',
      help: 'Mesh snapshots applied since start',
      registers,
    });
    this.certExpiry = new Gauge({
      name: 'ambit_waypoint_certificate_expiry_seconds',
      help: 'Seconds until each held certificate expires',
      labelNames: ['identity'],
      registers,
    });
    this.authzDenials = new Counter({
      name: 'ambit_waypoint_authz_denials_total',
      help: 'Requests refused with 403 by an AuthorizationPolicy, by deciding policy',
      labelNames: ['policy'],
      registers,
    });
  }

  /**
   * The four request metrics' children for one label set, cached under a key joined in fixed
   * order (prom-client sorts and hashes 25 label names on every labelled call). Bounded: the cache
   * starts over past 10,000 label sets.
   */
  private readonly children = new Map<string, RequestChildren>();

  childrenOf(l: RequestLabels): RequestChildren {
    let key = '';
    for (const n of REQUEST_LABEL_NAMES) key += l[n] + '\u0001';
    let c = this.children.get(key);
    if (!c) {
      if (this.children.size >= 10_000) this.children.clear();
      c = {
        total: this.requests.childOf(key, l),
        duration: this.duration.childOf(key, l),
        requestBytes: this.requestBytes.childOf(key, l),
        responseBytes: this.responseBytes.childOf(key, l),
      };
      this.children.set(key, c);
    }
    return c;
  }

  /** One finished request (answered, refused or reset): all four Istio request metrics. */
  requestDone(l: RequestLabels, o: RequestObservation): void {
    WaypointMetrics.observe(this.childrenOf(l), o);
  }

  /** One finished request on children already looked up (childrenOf). */
  static observe(c: RequestChildren, o: RequestObservation): void {
    c.total.inc();
    c.duration.observe(o.durationMs);
    c.requestBytes.observe(o.requestBytes);
    c.responseBytes.observe(o.responseBytes);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
