// Picks one endpoint among the ready ones of a Service: round robin (a cursor per service), least
// connections (ties broken by the round-robin cursor, so equal loads still rotate) or random.
// Pure: the caller owns the cursor, the live connection counts and the random source.
import type { Lease } from '../../core/proxy/proxy-lifecycle.js';
import type { LoadBalancerAlgorithm } from '../state/traffic-policy.js';

export interface LoadBalancerView {
  /** Round-robin cursor of a service (monotonic; 0 when unseen). */
  cursor(serviceKey: string): number;
  /** Connections currently open to `ip:port` through this ztunnel. */
  active(endpoint: string): number;
}

export interface Pick {
  index: number;
  /** The cursor value the caller stores for the service after this pick. */
  nextCursor: number;
}

export function pickEndpoint(
  candidates: readonly string[],
  algorithm: LoadBalancerAlgorithm,
  cursor: number,
  active: (endpoint: string) => number,
  /** A number in [0, 1) (RANDOM); injected so tests can fix it. */
  random: () => number = Math.random,
): Pick | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  switch (algorithm) {
    case 'ROUND_ROBIN':
      return { index: cursor % n, nextCursor: cursor + 1 };
    case 'RANDOM':
      return { index: Math.min(n - 1, Math.floor(random() * n)), nextCursor: cursor };
    case 'LEAST_CONNECTIONS': {
      let best = -1;
      let bestLoad = Infinity;
      for (let k = 0; k < n; k++) {
        const i = (cursor + k) % n;
        const candidate = candidates[i];
        if (candidate === undefined) continue;
        const load = active(candidate);
        if (load < bestLoad) {
          best = i;
          bestLoad = load;
        }
      }
      return { index: best, nextCursor: cursor + 1 };
    }
    default: {
      const never: never = algorithm;
      throw new Error(`unknown algorithm ${String(never)}`);
    }
  }
}

/** A mutable LoadBalancerView the data path owns. */
export class LoadBalancerState implements LoadBalancerView {
  private readonly cursors = new Map<string, number>();
  private readonly counts = new Map<string, number>();

  cursor(serviceKey: string): number {
    return this.cursors.get(serviceKey) ?? 0;
  }

  active(endpoint: string): number {
    return this.counts.get(endpoint) ?? 0;
  }

  advance(serviceKey: string, next: number): void {
    this.cursors.set(serviceKey, next);
  }

  opened(endpoint: string): void {
    this.counts.set(endpoint, this.active(endpoint) + 1);
  }

  closed(endpoint: string): void {
    const n = this.active(endpoint) - 1;
    if (n <= 0) this.counts.delete(endpoint);
    else this.counts.set(endpoint, n);
  }

  /** Counts one connection open to `endpoint` until the lease is released (at most once). */
  lease(endpoint: string): Lease {
    this.opened(endpoint);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.closed(endpoint);
      },
    };
  }
}
