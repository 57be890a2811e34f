// Reads the few TrafficPolicy (networking.ambit.dev/v1alpha1) settings the ztunnel applies to a
// Service: the load-balancing algorithm and an optional TCP idle timeout. The spec reaches us as
// the raw validated resource (MeshRouteResource), so this is the one place that knows its shape.
// Accepted shapes (Istio DestinationRule-like, and a flat one):
//   spec.targetRefs: [{kind: Service, name}] | spec.targetRef: {kind: Service, name}
//   spec.loadBalancer: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | {simple: ...} | {algorithm: ...}
//   spec.connectionPool.tcp.idleTimeout | spec.idleTimeout: '30s' | '5m' | '1h' | milliseconds
import type { MeshRouteResource } from '../../core/model/mesh.js';

export type LoadBalancerAlgorithm = 'ROUND_ROBIN' | 'LEAST_CONNECTIONS';

export interface ServiceTrafficSettings {
  loadBalancer: LoadBalancerAlgorithm;
  /** Close a connection after this long without bytes either way; undefined = never. */
  idleTimeoutMs?: number;
}

export const DEFAULT_TRAFFIC_SETTINGS: ServiceTrafficSettings = { loadBalancer: 'ROUND_ROBIN' };

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export function parseLoadBalancer(v: unknown): LoadBalancerAlgorithm | undefined {
  const raw = typeof v === 'string' ? v : (obj(v)?.simple ?? obj(v)?.algorithm ?? obj(v)?.type);
  if (typeof raw !== 'string') return undefined;
  switch (raw.toUpperCase().replace(/[-\s]/g, '_')) {
    case 'ROUND_ROBIN':
    case 'ROUNDROBIN':
      return 'ROUND_ROBIN';
    case 'LEAST_CONNECTIONS':
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
    case 'LEASTCONNECTIONS':
      return 'LEAST_CONNECTIONS';
    default:
      return undefined;
  }
}

export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return n > 0 ? n * unit : undefined;
}

function targetsOf(spec: Record<string, unknown>): { kind?: unknown; name?: unknown }[] {
  const refs = Array.isArray(spec.targetRefs) ? spec.targetRefs : [];
  const one = obj(spec.targetRef);
  return [...refs, ...(one ? [one] : [])].map((r) => obj(r) ?? {});
}

/** Settings per Service key `<ns>/<name>`, from every TrafficPolicy that targets a Service. */
export function trafficSettingsByService(
  routes: readonly MeshRouteResource[],
): Map<string, ServiceTrafficSettings> {
  const out = new Map<string, ServiceTrafficSettings>();
  const policies = routes
    .filter((r) => r.kind === 'TrafficPolicy')
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const p of policies) {
    const lb = parseLoadBalancer(p.spec.loadBalancer);
    const idle = parseDurationMs(obj(obj(p.spec.connectionPool)?.tcp)?.idleTimeout ?? p.spec.idleTimeout);
    for (const t of targetsOf(p.spec)) {
      if (t.kind !== 'Service' || typeof t.name !== 'string') continue;
      const key = `${p.namespace}/${t.name}`;
      if (out.has(key)) continue; // first policy by name wins, stable
      out.set(key, { loadBalancer: lb ?? 'ROUND_ROBIN', ...(idle ? { idleTimeoutMs: idle } : {}) });
    }
  }
  return out;
}
