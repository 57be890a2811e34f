// Why the HBONE client could not open a tunnel, as a stable ZT_* code (with the status when the
// server refused), and the test that tells a failed mTLS handshake from a failed TCP connection by
// the error's code and the socket's state, never by the wording of its message.
import { HINTS, ZtunnelError } from '../errors.js';

export type HboneTunnelCode =
  /** TCP or HTTP/2 connection to the HBONE server failed or timed out. */
  | 'ZT_HBONE_CONNECT'
  /** The mTLS handshake failed (alert, certificate not trusted, peer hung up mid-handshake). */
  | 'ZT_HBONE_TLS'
  /** The server presented another SPIFFE ID than discovery says serves the destination. */
  | 'ZT_PEER_IDENTITY'
  /** The pooled session would not take a new stream. */
  | 'ZT_TUNNEL_REQUEST'
  /** The server answered the CONNECT with a non-200 status (in `status`). */
  | 'ZT_TUNNEL_REFUSED'
  /** The stream ended or failed before the server answered. */
  | 'ZT_TUNNEL_RESET';

export class HboneTunnelError extends ZtunnelError {
  declare readonly code: HboneTunnelCode;
  /** The CONNECT's answer, for ZT_TUNNEL_REFUSED. */
  readonly status: number | undefined;
  /**
   * The server never processed the CONNECT (RST_STREAM REFUSED_STREAM, a stream above a GOAWAY's
   * last stream id, or a session that would not open a stream): RFC 9113 §8.7 makes it safe to
   * send again on another connection, nothing reached the destination.
   */
  readonly unprocessed: boolean;

  constructor(
    code: HboneTunnelCode,
    message: string,
    opts: { status?: number; cause?: unknown; unprocessed?: boolean } = {},
  ) {
    super(code, message, { cause: opts.cause, hint: HINTS[code] });
    this.status = opts.status;
    this.unprocessed = opts.unprocessed ?? false;
  }
}

/** An HBONE refusal the server never acted on: safe to send again on another connection. */
export function isUnprocessed(err: unknown): err is HboneTunnelError {
  return err instanceof HboneTunnelError && err.unprocessed;
}

/** What the TLS socket knew when the connection failed. */
export interface TlsSocketState {
  /** The certificate verification error Node recorded (`socket.authorizationError`), if any. */
  authorizationError: string | undefined;
  /** Whether the handshake had completed ('secureConnect'). */
  secured: boolean;
}

/**
 * Whether a connection error is the TLS handshake failing rather than the TCP connection: an
 * OpenSSL or Node TLS error code (ERR_SSL_*, ERR_TLS_*, EPROTO), the certificate verification error
 * the socket recorded, or the peer hanging up mid-handshake (Node's own ECONNRESET, which has no
 * syscall, unlike a reset seen by connect() or read()).
 */
export function isTlsHandshakeError(err: Error, s: TlsSocketState): boolean {
  const { code, syscall } = err as { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return false;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return true;
  if (s.authorizationError !== undefined && code === s.authorizationError) return true;
  return code === 'ECONNRESET' && syscall === undefined && !s.secured;
}
