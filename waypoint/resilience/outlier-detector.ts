// Passive health checking for one Service's endpoints, Envoy/Istio outlier detection: an endpoint
// that answers N consecutive 5xx (or N consecutive gateway errors) is ejected from load balancing
// for baseEjectionTime x the times it was ejected, at most maxEjectionPercent of the endpoints at
// once. Time is read from the injected clock when asked (no timers): an ejection ends lazily.
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import type { Clock } from '../../core/policy/clock.js';

export type OutlierOutcome = 'success' | '5xx' | 'gateway-error';

/**
 * Istio's defaults for the fields a TrafficPolicy leaves out (DestinationRule OutlierDetection).
 * maxEjectionTimeMs is Envoy's max_ejection_time (300 s, or the base when larger); Istio has no field.
 */
export const OUTLIER_DEFAULTS = {
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 10,
  minHealthPercent: 0,
  maxEjectionTimeMs: 300_000,
} as const;

/** Entries with nothing to remember are dropped after this long unseen (endpoints come and go). */
const FORGET_AFTER_MS = 3_600_000;

interface EndpointHealth {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Ejected until this time (clock ms); undefined: in rotation. */
  until: number | undefined;
  /** Ejections so far, less one per interval spent in rotation since the last (Envoy's decay). */
  times: number;
  /** When the last ejection ended (or the entry was made): the decay runs from here. */
  since: number;
  lastSeen: number;
}

export interface Ejection {
  endpoint: string;
  until: number;
  times: number;
}

export class OutlierDetector {
  private readonly byEndpoint = new Map<string, EndpointHealth>();
  private readonly o: Required<NonNullable<MeshTrafficPolicy['outlierDetection']>> & {
    maxEjectionTimeMs: number;
  };
  private readonly enabled: boolean;
  /** The size of the endpoint set healthy() saw last: what maxEjectionPercent is a percent of. */
  private setSize = 0;
  private lastSweep = 0;

  /** Without outlierDetection (no TrafficPolicy, or none in it) nothing is ever ejected, as in Istio. */
  constructor(
    od: MeshTrafficPolicy['outlierDetection'],
    private readonly clock: Clock,
  ) {
    this.enabled = od !== undefined;
    const base = od?.baseEjectionTimeMs ?? OUTLIER_DEFAULTS.baseEjectionTimeMs;
    this.o = {
      consecutive5xxErrors: od?.consecutive5xxErrors ?? OUTLIER_DEFAULTS.consecutive5xxErrors,
      consecutiveGatewayErrors: od?.consecutiveGatewayErrors ?? OUTLIER_DEFAULTS.consecutiveGatewayErrors,
      intervalMs: od?.intervalMs ?? OUTLIER_DEFAULTS.intervalMs,
      baseEjectionTimeMs: base,
      maxEjectionPercent: od?.maxEjectionPercent ?? OUTLIER_DEFAULTS.maxEjectionPercent,
      minHealthPercent: od?.minHealthPercent ?? OUTLIER_DEFAULTS.minHealthPercent,
      maxEjectionTimeMs: Math.max(base, OUTLIER_DEFAULTS.maxEjectionTimeMs),
    };
  }

  /**
   * One attempt's result at `endpoint` (ip:port). '5xx': a 5xx response other than a gateway
   * error; 'gateway-error': 502, 503, 504 or a connect failure/reset, which counts toward both
   * limits (Envoy without split_external_local_origin_errors). A success resets both counts.
   */
  record(endpoint: string, outcome: OutlierOutcome): void {
    if (!this.enabled) return;
    const now = this.clock.now();
    const h = this.entry(endpoint, now);
    if (this.ejectedNow(h, now)) return; // panic-mode traffic to an ejected endpoint changes nothing
    switch (outcome) {
      case 'success':
        h.consecutive5xx = 0;
        h.consecutiveGateway = 0;
        return;
      case '5xx':
        h.consecutive5xx++;
        h.consecutiveGateway = 0;
        break;
      case 'gateway-error':
        h.consecutive5xx++;
        h.consecutiveGateway++;
        break;
    }
    const { consecutive5xxErrors: n5xx, consecutiveGatewayErrors: nGw } = this.o;
    if ((n5xx > 0 && h.consecutive5xx >= n5xx) || (nGw > 0 && h.consecutiveGateway >= nGw)) {
      // as Envoy, the count starts again whether or not the cap let this one be ejected
      h.consecutive5xx = 0;
      h.consecutiveGateway = 0;
      if (this.ejectedCount(now) < this.maxEjected()) this.eject(h, now);
    }
  }

  isEjected(endpoint: string): boolean {
    const h = this.byEndpoint.get(endpoint);
    return h !== undefined && this.ejectedNow(h, this.clock.now());
  }

  /**
   * The endpoints load balancing may use: the ones not ejected; all of them when every one is
   * ejected (Envoy's panic mode) or when fewer than minHealthPercent are left (Istio: detection
   * is then off). Pass the Service's whole endpoint set: its size is what maxEjectionPercent of
   * endpoints means.
   */
  healthy(endpoints: readonly string[]): string[] {
    this.setSize = endpoints.length;
    const now = this.clock.now();
    this.forgetIdle(now);
    if (!this.enabled) return [...endpoints];
    const ok = endpoints.filter((e) => {
      const h = this.byEndpoint.get(e);
      if (h) h.lastSeen = now;
      return h === undefined || !this.ejectedNow(h, now);
    });
    if (ok.length === 0) return [...endpoints];
    if (ok.length * 100 < this.o.minHealthPercent * endpoints.length) return [...endpoints];
    return ok;
  }

  /** The endpoints ejected now, for metrics and status. */
  ejections(): Ejection[] {
    const now = this.clock.now();
    const out: Ejection[] = [];
    for (const [endpoint, h] of this.byEndpoint) {
      if (this.ejectedNow(h, now) && h.until !== undefined)
        out.push({ endpoint, until: h.until, times: h.times });
    }
    return out.sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  /**
   * How many endpoints may be ejected at once: maxEjectionPercent of the set, rounded down, but at
   * least one while the percent is above 0. Envoy would eject none of fewer than 10 endpoints at
   * Istio's 10% default (it ejects only while (ejected+1)/total <= max%, unless
   * always_eject_one_host); Ambit always allows one, so a small Service's bad endpoint is ejected
   * as the issue expects, and panic mode still keeps a one-endpoint Service reachable.
   */
  private maxEjected(): number {
    const pct = this.o.maxEjectionPercent;
    if (pct <= 0) return 0;
    const total = Math.max(this.setSize, this.byEndpoint.size);
    return Math.max(1, Math.floor((pct * total) / 100));
  }

  private ejectedCount(now: number): number {
    let n = 0;
    for (const h of this.byEndpoint.values()) if (this.ejectedNow(h, now)) n++;
    return n;
  }

  private eject(h: EndpointHealth, now: number): void {
    // Envoy's decay: one ejection forgiven per interval spent in rotation since the last ended
    const intervals = this.o.intervalMs > 0 ? Math.floor((now - h.since) / this.o.intervalMs) : 0;
    h.times = Math.max(0, h.times - intervals) + 1;
    h.until = now + Math.min(this.o.baseEjectionTimeMs * h.times, this.o.maxEjectionTimeMs);
  }

  /** Whether `h` is ejected at `now`; an ejection whose time passed ends here. */
  private ejectedNow(h: EndpointHealth, now: number): boolean {
    if (h.until === undefined) return false;
    if (now < h.until) return true;
    h.since = h.until;
    h.until = undefined;
    return false;
  }

  private entry(endpoint: string, now: number): EndpointHealth {
    let h = this.byEndpoint.get(endpoint);
    if (!h) {
      h = { consecutive5xx: 0, consecutiveGateway: 0, until: undefined, times: 0, since: now, lastSeen: now };
      this.byEndpoint.set(endpoint, h);
    }
    h.lastSeen = now;
    return h;
  }

  private forgetIdle(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [e, h] of this.byEndpoint) {
      if (now - h.lastSeen > FORGET_AFTER_MS && !this.ejectedNow(h, now)) this.byEndpoint.delete(e);
    }
  }
}
