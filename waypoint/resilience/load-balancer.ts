// Picks the endpoint for one attempt among a Service's healthy endpoints, by its TrafficPolicy's
// algorithm: round robin (default), random, least request (power of two choices on requests in
// flight) or consistent hash on a header or cookie (a ring hash: stable when endpoints come and
// go). Pure apart from its own counters; randomness is injected; it never filters endpoints.
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';

export interface LbEndpoint {
  key: string; // ip:port
}

export interface LoadBalancer {
  /** One endpoint of `endpoints` (undefined when there is none). */
  pick(endpoints: readonly LbEndpoint[], ctx: { hashKey?: string }): LbEndpoint | undefined;
  /** least-request bookkeeping: an attempt to `key` began / ended. */
  started(key: string): void;
  finished(key: string): void;
}

/** Requests in flight per endpoint, for least request; kept by every balancer (cheap, and for metrics). */
class InFlight {
  private readonly n = new Map<string, number>();
  get(key: string): number {
    return this.n.get(key) ?? 0;
  }
  started(key: string): void {
    this.n.set(key, this.get(key) + 1);
  }
  finished(key: string): void {
    const v = this.get(key) - 1;
    if (v > 0) this.n.set(key, v);
    else this.n.delete(key);
  }
}

const index = (random: () => number, n: number): number => Math.min(n - 1, Math.floor(random() * n));

class RoundRobin extends InFlight implements LoadBalancer {
  private next: number;
  constructor(random: () => number) {
    super();
    // a random start, so several waypoint instances do not walk the endpoints in step
    this.next = Math.floor(random() * 0x7fffffff);
  }
  pick(endpoints: readonly LbEndpoint[]): LbEndpoint | undefined {
    if (endpoints.length === 0) return undefined;
    const e = endpoints[this.next % endpoints.length];
    this.next = (this.next + 1) % 0x7fffffff;
    return e;
  }
}

class RandomPick extends InFlight implements LoadBalancer {
  constructor(private readonly random: () => number) {
    super();
  }
  pick(endpoints: readonly LbEndpoint[]): LbEndpoint | undefined {
    return endpoints.length === 0 ? undefined : endpoints[index(this.random, endpoints.length)];
  }
}

/** Envoy's LEAST_REQUEST with equal weights: two distinct random endpoints, the one with fewer in flight (ties: the first). */
class LeastRequest extends InFlight implements LoadBalancer {
  constructor(private readonly random: () => number) {
    super();
  }
  pick(endpoints: readonly LbEndpoint[]): LbEndpoint | undefined {
    const n = endpoints.length;
    if (n <= 1) return endpoints[0];
    const i = index(this.random, n);
    const j = (i + 1 + index(this.random, n - 1)) % n; // distinct from i
    const a = endpoints[i];
    const b = endpoints[j];
    if (!a || !b) return a ?? b;
    return this.get(b.key) < this.get(a.key) ? b : a;
  }
}

/** 32-bit FNV-1a with murmur3's finalizer (FNV alone spreads short similar keys poorly). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Points per endpoint on the ring. Fixed (not Envoy's ring size / n), so removing an endpoint
 * moves only the keys that were on it; 128 points keep the shares within a few percent.
 */
const RING_POINTS = 128;

interface Ring {
  id: string;
  points: Uint32Array;
  owners: LbEndpoint[];
}

class RingHash extends InFlight implements LoadBalancer {
  private ring: Ring | undefined;
  constructor(private readonly random: () => number) {
    super();
  }

  pick(endpoints: readonly LbEndpoint[], ctx: { hashKey?: string }): LbEndpoint | undefined {
    if (endpoints.length === 0) return undefined;
    // no key in the request (header or cookie missing): any endpoint, as Envoy does
    if (ctx.hashKey === undefined) return endpoints[index(this.random, endpoints.length)];
    const ring = this.ringOf(endpoints);
    const h = hash32(ctx.hashKey);
    // first point at or after h, wrapping around
    let lo = 0;
    let hi = ring.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ring.points[mid] ?? 0) < h) lo = mid + 1;
      else hi = mid;
    }
    return ring.owners[lo === ring.points.length ? 0 : lo];
  }

  /** The ring of this endpoint set, rebuilt only when the set changes (order does not matter). */
  private ringOf(endpoints: readonly LbEndpoint[]): Ring {
    const id = endpoints
      .map((e) => e.key)
      .sort()
      .join('\n');
    if (this.ring?.id === id) return this.ring;
    const all: { h: number; e: LbEndpoint }[] = [];
    for (const e of endpoints)
      for (let i = 0; i < RING_POINTS; i++) all.push({ h: hash32(`${e.key}_${i}`), e });
    // ties broken by key, so the ring does not depend on the order endpoints came in
    all.sort((x, y) => x.h - y.h || (x.e.key < y.e.key ? -1 : x.e.key > y.e.key ? 1 : 0));
    this.ring = { id, points: Uint32Array.from(all, (p) => p.h), owners: all.map((p) => p.e) };
    return this.ring;
  }
}

/**
 * The balancer for a Service's policy: consistentHash when set, else loadBalancer (ROUND_ROBIN
 * by default; PASSTHROUGH, which in Istio keeps the address the client dialled, means round
 * robin here: the waypoint always picks among the Service's endpoints).
 */
export function createLoadBalancer(p: MeshTrafficPolicy | undefined, random: () => number): LoadBalancer {
  if (p?.consistentHash) return new RingHash(random);
  switch (p?.loadBalancer) {
    case 'RANDOM':
      return new RandomPick(random);
    case 'LEAST_REQUEST':
      return new LeastRequest(random);
    case 'ROUND_ROBIN':
    case 'PASSTHROUGH':
    case undefined:
      return new RoundRobin(random);
  }
}

function headerValue(v: string | string[] | undefined, sep: string): string | undefined {
  return Array.isArray(v) ? (v.length === 0 ? undefined : v.join(sep)) : v;
}

/** The value of cookie `name` in a Cookie header (HTTP/2 may split it into several). */
function cookieValue(cookie: string | undefined, name: string): string | undefined {
  if (cookie === undefined) return undefined;
  for (const pair of cookie.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The consistent-hash key of a request: the configured header's value (lower-case header names,
 * as Node gives them; repeated headers joined with ","), or the configured cookie's value.
 * undefined without consistentHash or when the request lacks it.
 */
export function hashKeyOf(
  p: MeshTrafficPolicy | undefined,
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const h = p?.consistentHash;
  if (!h) return undefined;
  if ('header' in h) return headerValue(headers[h.header.toLowerCase()], ',');
  return cookieValue(headerValue(headers.cookie, '; '), h.cookie);
}
