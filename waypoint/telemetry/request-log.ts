// One pino JSON access-log line per request the waypoint handled (answered, refused or reset),
// in the ztunnel's house shape: an `access` object and a short message. Every string a client
// controls (authority, path, user agent, route, policy, error) is capped first
// (ztunnel/telemetry/log-field-cap.ts), so a long header cannot multiply into the log.
import type { Logger } from 'pino';
import { capField, capOptional } from '../../ztunnel/telemetry/log-field-cap.js';

export interface RequestLogEntry {
  method: string;
  authority: string;
  /** The request target as received; logged capped. */
  path: string;
  protocol: 'http' | 'grpc';
  /** HTTP/1.1 or HTTP/2 on the downstream side. */
  httpVersion?: string;
  responseCode: number;
  grpcStatus?: string;
  /** Envoy-style response flags, `-` when none. */
  flags: string;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  /** `ip:port` of the endpoint of the last attempt, when one was picked. */
  upstream?: string;
  /** Attempts sent upstream (retries + 1); 0 when refused before any. */
  attempts: number;
  /** `<kind>/<namespace>/<name>` of the route that matched, when one did. */
  route?: string;
  /** Destination Service hostname. */
  service?: string;
  sourcePrincipal?: string;
  sourceIp?: string;
  /** The AuthorizationPolicy that decided a 403, `<ns>/<name>`. */
  policy?: string;
  traceId?: string;
  requestId?: string;
  userAgent?: string;
  error?: string;
}

/** The entry with every peer-controlled string capped; numbers and enums untouched. */
export function capRequestFields(e: RequestLogEntry): RequestLogEntry {
  const out: RequestLogEntry = {
    ...e,
    authority: capField(e.authority),
    path: capField(e.path),
    method: capField(e.method, 32),
  };
  const optional = ['route', 'policy', 'userAgent', 'error', 'requestId', 'upstream', 'grpcStatus'] as const;
  for (const k of optional) {
    const v = capOptional(e[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function logRequest(logger: Logger, e: RequestLogEntry): void {
  const c = capRequestFields(e);
  logger.info(
    { access: c },
    `${c.method} ${c.authority}${c.path} ${c.responseCode} ${c.flags} ${c.sourcePrincipal ?? c.sourceIp ?? '-'}`,
  );
}
