// The HBONE request headers of DESIGN.md §3, built and parsed in one place: `:authority`
// (`ip:port`, `[ip]:port` for IPv6), `forwarded: for="<ip>:<port>"[;host=<hostname>]`,
// `traceparent` (W3C, 55 chars, else a new one) and `baggage` with the source's Kubernetes and
// service names. Pure string functions.
import { newSpanId, newTraceId } from '../../core/telemetry/trace-ids.js';
import { isIP } from 'node:net';
import type { Workload } from '../../core/model/mesh.js';

export function formatAuthority(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Parses `ip:port` / `[ip]:port` with a literal IP; undefined for anything else (-> 400). */
export function parseAuthority(authority: string | undefined): { ip: string; port: number } | undefined {
  if (!authority) return undefined;
  const [, ip, digits] =
    /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(authority) ?? /^([0-9.]+):(\d{1,5})$/.exec(authority) ?? [];
  if (ip === undefined || digits === undefined) return undefined;
  const port = Number(digits);
  const fam = isIP(ip);
  if (fam === 0 || (fam === 6) !== authority.startsWith('[')) return undefined;
  if (port < 1 || port > 65535) return undefined;
  return { ip, port };
}

export function formatForwarded(ip: string, port: number, host?: string): string {
  const forAddr = isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  return `for="${forAddr}"${host ? `;host=${host}` : ''}`;
}

/** The first `for=` element of a Forwarded header: address and port, and `host=` if any. */
export function parseForwarded(v: string | undefined): { ip?: string; port?: number; host?: string } {
  if (!v) return {};
  const [first = ''] = v.split(',', 1);
  const out: { ip?: string; port?: number; host?: string } = {};
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const k = pair.slice(0, eq).trim().toLowerCase();
    let val = pair.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1);
    if (k === 'for') {
      const [, ip, port] = /^\[([^\]]+)\](?::(\d+))?$/.exec(val) ?? /^([^:]+)(?::(\d+))?$/.exec(val) ?? [];
      if (ip !== undefined && isIP(ip)) {
        out.ip = ip;
        if (port) out.port = Number(port);
      }
    } else if (k === 'host') out.host = val;
  }
  return out;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Keeps a valid 55-char W3C traceparent, else makes a new sampled one. */
export function traceparent(incoming?: string): string {
  if (incoming && incoming.length === 55 && TRACEPARENT.test(incoming) && !incoming.startsWith('ff'))
    return incoming;
  return `00-${newTraceId()}-${newSpanId()}-01`;
}

/**
 * W3C baggage naming the source: k8s.namespace.name, k8s.<kind>.name, service.name,
 * service.version. The owner kind is not in the mesh state: a workload name that differs from
 * the pod name is reported as a deployment (what Istio's workload name usually is), else a pod.
 */
export function baggage(w: Workload): string {
  const kind = w.workloadName !== w.name ? 'deployment' : 'pod';
  const enc = encodeURIComponent;
  return [
    `k8s.namespace.name=${enc(w.namespace)}`,
    `k8s.${kind}.name=${enc(w.workloadName)}`,
    `service.name=${enc(w.canonicalService)}`,
    `service.version=${enc(w.canonicalRevision)}`,
  ].join(',');
}

export function parseBaggage(v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (v ?? '').split(',')) {
    const [kv] = item.split(';');
    const eq = kv?.indexOf('=') ?? -1;
    if (!kv || eq < 0) continue;
    try {
      out[kv.slice(0, eq).trim()] = decodeURIComponent(kv.slice(eq + 1).trim());
    } catch {
      /* ignore a malformed member */
    }
  }
  return out;
}
