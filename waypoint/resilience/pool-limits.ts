// Circuit breaking for one Service at this waypoint from its TrafficPolicy connectionPool, Envoy's
// cluster circuit breakers: upstream connections (tcp.maxConnections), requests waiting for a
// connection (http.http1MaxPendingRequests), requests in flight (http.http2MaxRequests, which
// Istio applies to HTTP/1.1 too) and requests per connection. Counts only, through leases the
// caller gives back once; concurrent retries are the retry budget's (retry-budget.ts).
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import type { Lease } from '../../core/proxy/proxy-lifecycle.js';

/** A limit is full: the request gets HTTP 503 with response flag UO (response-flags.ts). */
export type Overflow = 'overflow';

/** Unset limits are unlimited, as in Istio (its defaults are 2^32-1), not Envoy's 1024. */
export interface PoolLimitValues {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  /** 0: unlimited (Istio). */
  maxRequestsPerConnection: number;
}

class Gauge {
  n = 0;
  constructor(readonly max: number) {}

  tryAcquire(): Lease | Overflow {
    if (this.n >= this.max) return 'overflow';
    this.n++;
    let held = true;
    return {
      release: () => {
        if (!held) return; // a second release gives back nothing
        held = false;
        this.n--;
      },
    };
  }
}

export class PoolLimits {
  readonly limits: PoolLimitValues;
  private readonly connections: Gauge;
  private readonly pending: Gauge;
  private readonly requests: Gauge;

  constructor(pool?: MeshTrafficPolicy['connectionPool']) {
    this.limits = {
      maxConnections: pool?.tcp?.maxConnections ?? Infinity,
      maxPendingRequests: pool?.http?.http1MaxPendingRequests ?? Infinity,
      maxRequests: pool?.http?.http2MaxRequests ?? Infinity,
      maxRequestsPerConnection: pool?.http?.maxRequestsPerConnection ?? 0,
    };
    this.connections = new Gauge(this.limits.maxConnections);
    this.pending = new Gauge(this.limits.maxPendingRequests);
    this.requests = new Gauge(this.limits.maxRequests);
  }

  /**
   * Around each request to the Service, before its first attempt, released when it ends (its
   * retries included): at most maxRequests at once. 'overflow': answer 503 UO at once.
   */
  tryAcquireRequest(): Lease | Overflow {
    return this.requests.tryAcquire();
  }

  /**
   * Around each upstream connection the waypoint opens for the Service, released when it closes.
   * 'overflow' does not fail the request (Envoy neither): the request waits for a connection to
   * free up, holding a tryAcquirePending lease while it waits.
   */
  tryAcquireConnection(): Lease | Overflow {
    return this.connections.tryAcquire();
  }

  /** While a request waits for a connection; 'overflow': too many wait, answer 503 UO. */
  tryAcquirePending(): Lease | Overflow {
    return this.pending.tryAcquire();
  }

  /** Whether a connection that has carried `served` requests may carry another (maxRequestsPerConnection). */
  mayReuse(served: number): boolean {
    const max = this.limits.maxRequestsPerConnection;
    return max === 0 || served < max;
  }

  /** Held now, for metrics. */
  get inUse(): { connections: number; pending: number; requests: number } {
    return { connections: this.connections.n, pending: this.pending.n, requests: this.requests.n };
  }
}
