// The HBONE client: HTTP/2 CONNECT over mutual TLS 1.3 (ALPN h2, no SNI), presenting the source
// workload's certificate and accepting only the exact server SPIFFE ID discovery expects. One
// TLS connection carries up to 100 tunnels; the pool is keyed by (source identity, server
// identity, server address); idle connections go after 5 minutes; retire() stops new tunnels on
// a key's connections (certificate rotation, drain) and closes them with GOAWAY once idle.
import http2, {
  constants as h2c,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from 'node:http2';
import tls, { type PeerCertificate, type SecureContext } from 'node:tls';
import { spiffeIdOfCert } from '../../core/identity/spiffe.js';
import { ztError, ZtunnelError } from '../errors.js';
import { HboneTunnelError, isTlsHandshakeError, isUnprocessed } from './tunnel-error.js';
import { formatAuthority } from './hbone-headers.js';
import {
  HBONE_SETTINGS,
  MAX_SESSION_MEMORY_MB,
  MAX_STREAMS_PER_CONNECTION,
  POOL_IDLE_MS,
  tuneSession,
} from './h2-settings.js';
import { TCP_KEEPALIVE_MS } from './splice.js';

export const HBONE_CONNECT_TIMEOUT_MS = 10_000;

/** CONNECTs per tunnel: the first, and one more after an unprocessed refusal. */
export const CONNECT_ATTEMPTS = 2;

export interface HboneTarget {
  sourceIdentity: string;
  /** The TLS material of the source identity (kept current by the certificate store). */
  secureContext: SecureContext;
  serverIdentity: string;
  gateway: { ip: string; port: number };
  authority: { ip: string; port: number };
  headers: OutgoingHttpHeaders;
}

export { HboneTunnelError, type HboneTunnelCode } from './tunnel-error.js';

interface PooledConnection {
  key: string;
  session: ClientHttp2Session;
  ready: Promise<void>;
  /** tunnels open or being opened on it */
  streams: number;
  retired: boolean;
  idleTimer?: NodeJS.Timeout | undefined;
}

export interface HbonePoolOptions {
  maxStreamsPerConnection?: number;
  idleMs?: number;
  connectTimeoutMs?: number;
  onConnectionCount?: (n: number) => void;
}

export class HbonePool {
  private readonly byKey = new Map<string, PooledConnection[]>();
  private count = 0;
  private readonly maxStreams: number;
  private readonly idleMs: number;
  private readonly connectTimeoutMs: number;

  constructor(private readonly opts: HbonePoolOptions = {}) {
    this.maxStreams = opts.maxStreamsPerConnection ?? MAX_STREAMS_PER_CONNECTION;
    this.idleMs = opts.idleMs ?? POOL_IDLE_MS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? HBONE_CONNECT_TIMEOUT_MS;
  }

  static key(t: Pick<HboneTarget, 'sourceIdentity' | 'serverIdentity' | 'gateway'>): string {
    return `${t.sourceIdentity}|${t.serverIdentity}|${formatAuthority(t.gateway.ip, t.gateway.port)}`;
  }

  connections(): number {
    return this.count;
  }

  /**
   * Opens one tunnel; resolves once the server answered 200 (upstream TCP is up). A CONNECT the
   * server refused unprocessed (HboneTunnelError.unprocessed: a draining server's GOAWAY or
   * REFUSED_STREAM) is sent again once on a fresh connection (CONNECT_ATTEMPTS): nothing was
   * written behind it, so nothing can arrive twice.
   */
  async open(t: HboneTarget, onReplay?: (err: HboneTunnelError) => void): Promise<ClientHttp2Stream> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { stream, response } = await this.openEarly(t);
        await response;
        return stream;
      } catch (err) {
        if (attempt >= CONNECT_ATTEMPTS || !isUnprocessed(err)) throw err;
        onReplay?.(err);
      }
    }
  }

  /**
   * Sends the CONNECT and returns the stream at once, with the answer as a promise (resolves on
   * 200, rejects otherwise; a non-200 stream is cancelled). A caller may write the client's first
   * bytes behind the HEADERS instead of waiting a round trip for the 200: the server reads them
   * only once its upstream connection is up, and drops them if it refuses.
   */
  async openEarly(t: HboneTarget): Promise<{ stream: ClientHttp2Stream; response: Promise<void> }> {
    const conn = this.acquire(t);
    try {
      await conn.ready;
    } catch (err) {
      this.release(conn);
      throw err;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(
        {
          ':method': 'CONNECT',
          ':authority': formatAuthority(t.authority.ip, t.authority.port),
          ...t.headers,
        },
        { endStream: false },
      );
    } catch (err) {
      this.release(conn);
      // a session that got GOAWAY (or closed) between acquire() and request(): nothing was sent
      this.retireOne(conn);
      throw new HboneTunnelError('ZT_TUNNEL_REQUEST', `HBONE request failed: ${(err as Error).message}`, {
        cause: err,
        unprocessed: true,
      });
    }
    stream.once('close', () => this.release(conn));
    // the caller's splice listens from the answer on; an error in between must not go uncaught
    stream.on('error', () => undefined);
    const response = new Promise<void>((resolve, reject) => {
      // 'error' (with the RST code already set) and then 'close' end a stream before its answer
      const fail = (e?: Error) => {
        stream.off('response', onResponse);
        stream.off('error', fail);
        stream.off('close', fail);
        if (stream.rstCode === h2c.NGHTTP2_REFUSED_STREAM) {
          // Refused unprocessed (a draining server's GOAWAY, or its RST_STREAM): no new tunnel
          // on this connection; the caller may send the CONNECT again on a fresh one.
          this.retireOne(conn);
          reject(
            new HboneTunnelError(
              'ZT_TUNNEL_RESET',
              `HBONE CONNECT refused unprocessed (REFUSED_STREAM) by ${formatAuthority(t.gateway.ip, t.gateway.port)}`,
              { unprocessed: true, cause: e },
            ),
          );
          return;
        }
        reject(
          e instanceof HboneTunnelError
            ? e
            : new HboneTunnelError(
                'ZT_TUNNEL_RESET',
                e?.message ?? `HBONE stream closed before a response (code ${stream.rstCode})`,
                { cause: e },
              ),
        );
      };
      const onResponse = (headers: http2.IncomingHttpHeaders) => {
        stream.off('error', fail);
        stream.off('close', fail);
        const status = Number(headers[':status']);
        if (status === 200) return resolve();
        stream.close(h2c.NGHTTP2_CANCEL);
        reject(new HboneTunnelError('ZT_TUNNEL_REFUSED', `HBONE CONNECT answered ${status}`, { status }));
      };
      stream.once('response', onResponse);
      stream.once('error', fail);
      stream.once('close', fail);
    });
    response.catch(() => undefined);
    return { stream, response };
  }

  /** No new tunnels on these connections; each closes with GOAWAY when its last tunnel ends. */
  retire(match: (key: string) => boolean): void {
    for (const [key, list] of this.byKey) {
      if (!match(key)) continue;
      for (const c of list) {
        c.retired = true;
        if (c.streams === 0) c.session.close();
      }
      this.byKey.delete(key);
    }
  }

  /** GOAWAY everything (drain). */
  close(): void {
    this.retire(() => true);
  }

  private acquire(t: HboneTarget): PooledConnection {
    const key = HbonePool.key(t);
    const list = this.byKey.get(key) ?? [];
    let conn = list.find(
      (c) => !c.retired && c.streams < this.maxStreams && !c.session.destroyed && !c.session.closed,
    );
    if (!conn) {
      conn = this.dial(key, t);
      list.push(conn);
      this.byKey.set(key, list);
    }
    conn.streams++;
    if (conn.idleTimer) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = undefined;
    }
    return conn;
  }

  private release(conn: PooledConnection): void {
    conn.streams--;
    if (conn.streams > 0) return;
    if (conn.retired) {
      conn.session.close();
      return;
    }
    conn.idleTimer = setTimeout(() => {
      this.retireOne(conn);
      conn.session.close();
    }, this.idleMs);
    conn.idleTimer.unref();
  }

  /** No new tunnel on this connection (its open ones run on); out of the pool's lists. */
  private retireOne(conn: PooledConnection): void {
    conn.retired = true;
    this.forget(conn);
  }

  private forget(conn: PooledConnection): void {
    const list = this.byKey.get(conn.key);
    if (!list) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(conn.key);
  }

  private dial(key: string, t: HboneTarget): PooledConnection {
    const expected = t.serverIdentity;
    let tlsError: Error | undefined;
    const socket = tls.connect({
      host: t.gateway.ip,
      port: t.gateway.port,
      secureContext: t.secureContext,
      ALPNProtocols: ['h2'],
      // No SNI (DESIGN §3): an IP host never sends one; the identity check replaces hostname checks.
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const got = spiffeIdOfCert(cert.subjectaltname);
        if (got === expected) return undefined;
        tlsError = ztError(
          'ZT_PEER_IDENTITY',
          `HBONE server at ${t.gateway.ip}:${t.gateway.port} is ${got ?? '(no SPIFFE ID)'}, expected ${expected}`,
        );
        return tlsError;
      },
    });
    socket.setNoDelay(true);
    let secured = false;
    socket.once('secureConnect', () => {
      secured = true;
    });
    const session = http2.connect(`https://${formatAuthority(t.gateway.ip, t.gateway.port)}`, {
      createConnection: () => socket,
      settings: HBONE_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    let lastError: Error | undefined;
    session.on('error', (e: Error) => {
      lastError = e;
    });
    socket.on('error', (e: Error) => {
      lastError ??= e;
    });
    const conn: PooledConnection = { key, session, streams: 0, retired: false, ready: Promise.resolve() };
    this.count++;
    this.opts.onConnectionCount?.(this.count);
    conn.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          session.destroy(
            ztError('ZT_HBONE_CONNECT', `HBONE connect to ${t.gateway.ip}:${t.gateway.port} timed out`),
          ),
        this.connectTimeoutMs,
      );
      session.once('connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
        tuneSession(session);
        resolve();
      });
      session.once('close', () => {
        clearTimeout(timer);
        // a verification error code (a string, despite its type), or null when there was none
        const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
        if (!tlsError && lastError && isTlsHandshakeError(lastError, { authorizationError, secured }))
          tlsError = lastError;
        if (!tlsError && authorizationError) tlsError = new Error(authorizationError);
        reject(
          tlsError
            ? new HboneTunnelError(
                tlsError instanceof ZtunnelError && tlsError.code === 'ZT_PEER_IDENTITY'
                  ? 'ZT_PEER_IDENTITY'
                  : 'ZT_HBONE_TLS',
                tlsError.message,
                { cause: tlsError },
              )
            : new HboneTunnelError(
                'ZT_HBONE_CONNECT',
                `HBONE connection to ${t.gateway.ip}:${t.gateway.port} failed: ${lastError?.message ?? 'closed before it was up'}`,
                { cause: lastError },
              ),
        );
      });
    });
    conn.ready.catch(() => undefined);
    session.once('close', () => {
      this.retireOne(conn);
      this.count--;
      this.opts.onConnectionCount?.(this.count);
    });
    session.on('goaway', () => {
      this.retireOne(conn);
    });
    return conn;
  }
}
