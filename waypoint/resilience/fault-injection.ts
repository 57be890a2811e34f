// Fault injection for one request from its Service's TrafficPolicy fault (Istio's HTTPFaultInjection
// shape): whether to delay it and by how much, and whether to abort it with which status. Pure; the
// caller sleeps on its clock and writes the abort (flags DI and FI, response-flags.ts).
import type { MeshTrafficPolicy } from '../../core/model/mesh.js';
import { GRPC_STATUS_CODES } from '../../core/model/resources/traffic-policy.js';

export type FaultDecision = { delayMs?: number; abort?: { httpStatus: number } | { grpcStatus: number } };

/** A gRPC status as TrafficPolicy writes it: a name ("UNAVAILABLE") or a number ("14"). */
export function grpcStatusCode(s: string): number | undefined {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    return n < GRPC_STATUS_CODES.length ? n : undefined;
  }
  const i = (GRPC_STATUS_CODES as readonly string[]).indexOf(s.toUpperCase());
  return i < 0 ? undefined : i;
}

/** Whether a fault given `percent` of requests (Istio: 100 when the percentage is left out) hits this one. */
function fires(percent: number | undefined, random: () => number): boolean {
  return random() * 100 < (percent ?? 100);
}

/**
 * The fault for one request. The delay and the abort are drawn independently, the delay first
 * (one random() each, only for the ones configured): a request may be delayed and then aborted,
 * as Envoy's fault filter does.
 */
export function decideFault(f: MeshTrafficPolicy['fault'], random: () => number): FaultDecision {
  const d: FaultDecision = {};
  if (f?.delay && fires(f.delay.percent, random)) d.delayMs = f.delay.fixedDelayMs;
  if (f?.abort && fires(f.abort.percent, random)) {
    if (f.abort.httpStatus !== undefined) d.abort = { httpStatus: f.abort.httpStatus };
    else if (f.abort.grpcStatus !== undefined) {
      const code = grpcStatusCode(f.abort.grpcStatus);
      if (code !== undefined) d.abort = { grpcStatus: code };
    }
  }
  return d;
}
