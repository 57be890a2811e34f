// The limits every ztunnel listener enforces against hostile peers (issue 8), their defaults in
// one place, and the names they are counted under in ambit_ztunnel_limit_hits_total{limit}. The
// CLI turns flags into a ListenerLimits; nothing here touches a socket.

export interface ListenerLimits {
  /** A TLS (15008) or SOCKS5 handshake not finished by then is closed. */
  handshakeTimeoutMs: number;
  /** Sockets accepted but not yet secure (15008) or not yet past the SOCKS5 request, per listener. */
  maxHandshakes: number;
  /** Open connections per listener. */
  maxConnections: number;
  /** Open connections per listener from one source address. */
  maxConnectionsPerSource: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised on 15008 (DESIGN §3: 100 per connection). */
  maxStreamsPerConnection: number;
  /** Streams reset (by either side, or refused with 400) within their first second, per connection per window. */
  resetBudget: number;
  resetWindowMs: number;
  /** File descriptors kept free for upstream dials, the controller stream and readiness. */
  fdReserve: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  handshakeTimeoutMs: 5_000,
  maxHandshakes: 4_096,
  maxConnections: 32_768,
  maxConnectionsPerSource: 2_048,
  maxStreamsPerConnection: 100,
  resetBudget: 200,
  resetWindowMs: 10_000,
  fdReserve: 256,
};

/** The `limit` label of ambit_ztunnel_limit_hits_total. */
export type LimitName =
  | 'handshakes'
  | 'handshake-timeout'
  | 'connections'
  | 'connections-per-source'
  | 'fd-reserve'
  | 'streams'
  | 'reset-budget';

/** The `listener` label: the names ztunnel.ts binds its listeners under. */
export type ListenerName = 'hbone' | 'outbound' | 'inboundPlaintext' | 'socks5' | 'admin' | 'ready';
