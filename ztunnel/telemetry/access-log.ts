// One pino JSON line per proxied (or refused) connection on stdout: who to whom, identities,
// original destination, bytes each way, duration, result and the policy that decided.
import type { Logger } from 'pino';
import { capAccessFields } from './log-field-cap.js';

export interface AccessLogEntry {
  direction: 'outbound' | 'inbound' | 'inbound-plaintext';
  src: { ip: string; port?: number; workload?: string; identity?: string };
  dst: { ip?: string; port?: number; workload?: string; service?: string; identity?: string };
  /** What the client dialled (the original destination). */
  originalDestination?: string;
  /** Where the bytes went: hbone gateway, waypoint, pod, passthrough address. */
  via?: string;
  decision: string;
  result: string;
  responseFlags: string;
  policy?: string;
  bytesSent: number;
  bytesReceived: number;
  durationMs: number;
  error?: string;
}

export function logAccess(logger: Logger, e: AccessLogEntry): void {
  logger.info(
    { access: capAccessFields(e) },
    `${e.direction} ${e.src.workload ?? e.src.ip} -> ${e.dst.workload ?? e.dst.ip ?? '?'} ${e.result}`,
  );
}
