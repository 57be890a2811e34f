// The resilience state of one backend Service at this waypoint, kept across requests: its load
// balancer, outlier detector, connection-pool limits and retry budget, built from its
// TrafficPolicy. A changed policy (a new record) makes a new state; requests in flight finish on
// the one they started with.
import type { MeshService, MeshTrafficPolicy } from '../../core/model/mesh.js';
import type { Clock } from '../../core/policy/clock.js';
import { createLoadBalancer, hashKeyOf, type LoadBalancer } from '../resilience/load-balancer.js';
import { OutlierDetector } from '../resilience/outlier-detector.js';
import { PoolLimits } from '../resilience/pool-limits.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import { serviceKey, type WaypointSnapshot } from '../state/waypoint-snapshot.js';

export interface ServiceResilience {
  policy: MeshTrafficPolicy | undefined;
  lb: LoadBalancer;
  outliers: OutlierDetector;
  limits: PoolLimits;
  budget: RetryBudget;
  hashKey(headers: Record<string, string | string[] | undefined>): string | undefined;
}

export class ResilienceRegistry {
  private readonly byService = new Map<string, ServiceResilience>();

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  for(service: MeshService, snap: WaypointSnapshot): ServiceResilience {
    const key = serviceKey(service);
    const policy = snap.trafficPolicyByService.get(key);
    const had = this.byService.get(key);
    if (had && had.policy === policy) return had;
    const made: ServiceResilience = {
      policy,
      lb: createLoadBalancer(policy, this.random),
      outliers: new OutlierDetector(policy?.outlierDetection, this.clock),
      limits: new PoolLimits(policy?.connectionPool),
      budget: new RetryBudget(policy?.retryBudget, policy?.connectionPool?.http?.maxRetries),
      hashKey: (headers) => hashKeyOf(policy, headers),
    };
    this.byService.set(key, made);
    return made;
  }

  /** Every Service's state, for the ejection gauge. */
  entries(): IterableIterator<[string, ServiceResilience]> {
    return this.byService.entries();
  }
}
