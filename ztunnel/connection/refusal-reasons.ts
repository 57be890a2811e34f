// Every reason the ztunnel refuses or fails a connection, and the one response flag each is counted
// and logged with (DESIGN §7). The tables are total over the reason unions: a new deny reason in a
// decider, or a new tunnel error code, does not compile until it is given a flag here.
import type { InboundRejectReason } from '../inbound/decide-inbound.js';
import type { OutboundDenyReason } from '../outbound/decide-outbound.js';
import type { HboneTunnelError } from '../hbone/tunnel-error.js';
import type { ResponseFlag } from '../telemetry/tcp-labels.js';

/** Why the outbound proxy could not carry a connection it had decided to carry. */
export type OutboundFailure =
  /** Setting the tunnel up failed before HBONE was tried (the source's certificate). */
  | 'hbone-setup'
  /** ZT_HBONE_CONNECT */
  | 'hbone-connect'
  /** ZT_HBONE_TLS */
  | 'hbone-tls'
  /** ZT_PEER_IDENTITY */
  | 'peer-identity'
  /** ZT_TUNNEL_REQUEST */
  | 'tunnel-request'
  /** ZT_TUNNEL_REFUSED with 401: the destination's policy denied it. */
  | 'tunnel-denied'
  /** ZT_TUNNEL_REFUSED with another status. */
  | 'tunnel-refused'
  /** ZT_TUNNEL_RESET */
  | 'tunnel-reset'
  /** A passthrough (or, inbound, the pod) did not accept the TCP connection. */
  | 'upstream-connect';

/** Why the inbound proxy could not carry a connection it had decided to forward. */
export type InboundFailure = 'upstream-connect';

export type OutboundRefusal = OutboundDenyReason | OutboundFailure;
export type InboundRefusal = InboundRejectReason | InboundFailure;
export type RefusalReason = OutboundRefusal | InboundRefusal;

/** The response flags of a refused connection, by reason. */
export const RESPONSE_FLAGS: Record<RefusalReason, ResponseFlag> = {
  // outbound decisions
  'unknown-source': 'UNKNOWN_SOURCE',
  'source-not-on-node': 'UNKNOWN_SOURCE',
  'no-ready-endpoint': 'NO_HEALTHY_UPSTREAM',
  'no-destination-node': 'DENY',
  'no-waypoint-instance': 'NO_HEALTHY_UPSTREAM',
  'waypoint-without-identity': 'DENY',
  // outbound failures
  'hbone-setup': 'CONNECT',
  'hbone-connect': 'CONNECT',
  'hbone-tls': 'TLS_FAILURE',
  'peer-identity': 'TLS_FAILURE',
  'tunnel-request': 'CONNECT',
  'tunnel-denied': 'DENY',
  'tunnel-refused': 'CONNECT',
  'tunnel-reset': 'CONNECT',
  'upstream-connect': 'CONNECT',
  // inbound decisions: 401 is DENY, 400 and 503 are CONNECT
  'not-connect': 'CONNECT',
  'bad-authority': 'CONNECT',
  'unknown-destination': 'CONNECT',
  'not-on-this-node': 'CONNECT',
  'mtls-required': 'DENY',
  'not-from-waypoint': 'DENY',
  policy: 'DENY',
};

/** What a client that waits for an answer (SOCKS5) hears: refused by rule, or host unreachable. */
export const OUTBOUND_ANSWERS: Record<OutboundRefusal, 'deny' | 'unreachable'> = {
  'unknown-source': 'deny',
  'source-not-on-node': 'deny',
  'no-ready-endpoint': 'deny',
  'no-destination-node': 'deny',
  'no-waypoint-instance': 'deny',
  'waypoint-without-identity': 'deny',
  'hbone-setup': 'unreachable',
  'hbone-connect': 'unreachable',
  'hbone-tls': 'unreachable',
  'peer-identity': 'unreachable',
  'tunnel-request': 'unreachable',
  'tunnel-denied': 'deny',
  'tunnel-refused': 'unreachable',
  'tunnel-reset': 'unreachable',
  'upstream-connect': 'unreachable',
};

/** The failure an HBONE tunnel error stands for, by its code (and status). */
export function tunnelFailure(e: HboneTunnelError): OutboundFailure {
  switch (e.code) {
    case 'ZT_HBONE_CONNECT':
      return 'hbone-connect';
    case 'ZT_HBONE_TLS':
      return 'hbone-tls';
    case 'ZT_PEER_IDENTITY':
      return 'peer-identity';
    case 'ZT_TUNNEL_REQUEST':
      return 'tunnel-request';
    case 'ZT_TUNNEL_REFUSED':
      return e.status === 401 ? 'tunnel-denied' : 'tunnel-refused';
    case 'ZT_TUNNEL_RESET':
      return 'tunnel-reset';
    default: {
      const never: never = e.code;
      throw new Error(`unknown tunnel error code ${String(never)}`);
    }
  }
}
