// The TrafficPolicy (networking.ambit.dev/v1alpha1) settings the ztunnel applies to a Service at
// L4: the load-balancing algorithm (spec.loadBalancer.simple) and the TCP idle timeout
// (spec.connectionPool.tcp.idleTimeout). Policies reach us as typed records the controller compiled
// (MeshTrafficPolicy, core/model/compile-routes.ts) and the discovery client decoded, so nothing
// here reads a raw spec; the L7 fields (retries, outlier detection, faults) are the waypoint's.
//   ROUND_ROBIN   -> round robin over ready endpoints (the default)
//   LEAST_REQUEST -> fewest connections open through this ztunnel (requests are L7; at L4 a
//                    connection is the unit of load, as Envoy's LEAST_REQUEST on TCP proxies)
//   RANDOM        -> uniformly random ready endpoint
//   PASSTHROUGH   -> round robin: a connection to a Service VIP has no endpoint address of its
//                    own to pass through to, so the ztunnel still has to choose one
import type { LoadBalancerPolicy, MeshTrafficPolicy } from '../../core/model/mesh.js';

export type LoadBalancerAlgorithm = 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'RANDOM';

export interface ServiceTrafficSettings {
  loadBalancer: LoadBalancerAlgorithm;
  /** Close a connection after this long without bytes either way; undefined = never. */
  idleTimeoutMs?: number;
}

export const DEFAULT_TRAFFIC_SETTINGS: ServiceTrafficSettings = { loadBalancer: 'ROUND_ROBIN' };

const ALGORITHM: Record<LoadBalancerPolicy, LoadBalancerAlgorithm> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_CONNECTIONS',
  RANDOM: 'RANDOM',
  PASSTHROUGH: 'ROUND_ROBIN',
};

/** Settings per Service key `<ns>/<name>`, from every TrafficPolicy that targets a Service. */
export function trafficSettingsByService(
  trafficPolicies: readonly MeshTrafficPolicy[],
): Map<string, ServiceTrafficSettings> {
  const out = new Map<string, ServiceTrafficSettings>();
  const policies = [...trafficPolicies].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  for (const p of policies) {
    const idleMs = p.connectionPool?.tcp?.idleTimeoutMs ?? 0;
    for (const key of p.services) {
      if (out.has(key)) continue; // first policy by name wins, stable
      out.set(key, {
        loadBalancer: p.loadBalancer ? ALGORITHM[p.loadBalancer] : 'ROUND_ROBIN',
        ...(idleMs > 0 ? { idleTimeoutMs: idleMs } : {}),
      });
    }
  }
  return out;
}
