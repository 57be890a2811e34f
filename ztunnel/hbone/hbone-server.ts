// The HBONE server end (15008): terminates mutual TLS 1.3 (ALPN h2) presenting the node identity,
// accepts any client certificate that chains to the mesh root and whose SPIFFE trust domain is
// ours, and hands each CONNECT stream with the verified peer identity to the inbound path. Knows
// nothing about policy or pods. Holds the line against hostile peers (issue 8): a gated TCP front
// (connections overall and per source, handshakes in flight, fd headroom), a TLS handshake
// timeout, MAX_CONCURRENT_STREAMS, and a per-connection budget for rapidly reset streams.
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parseSpiffeId, spiffeIdOfCert } from '../../core/identity/spiffe.js';
import { HBONE_TLS, presentedChain, type Credential } from '../identity/credential.js';
import { HBONE_SETTINGS, MAX_SESSION_MEMORY_MB, tuneSession } from './h2-settings.js';
import { TCP_KEEPALIVE_MS } from './splice.js';
import { ConnectionGate, type GateTicket } from '../limits/connection-gate.js';
import { guardedServer } from '../limits/guarded-listener.js';
import { normalizeAddress } from '../net/peer-address.js';
import { DEFAULT_LISTENER_LIMITS, type LimitName, type ListenerLimits } from '../limits/listener-limits.js';
import { RAPID_STREAM_MS, ResetBudget } from '../limits/reset-budget.js';

/** The verified peer identity, read once per TLS connection (getPeerCertificate costs ~60 µs). */
const PEER_PRINCIPAL = Symbol('ambit.peerPrincipal');

export interface HbonePeer {
  principal: string;
  address: string;
  port: number;
}

/** Why a peer was refused at TLS: a stable code (the label of ambit_ztunnel_tls_refusals_total) and the detail. */
export interface TlsRefusal {
  code: string;
  reason: string;
  address: string | undefined;
}

export interface HboneServerOptions {
  credential: Credential;
  trustDomain: () => string;
  onTunnel: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: HbonePeer) => void;
  onRejectedPeer?: (r: TlsRefusal) => void;
  /** Admission for accepted TCP connections; without one, every connection is admitted. */
  gate?: ConnectionGate;
  limits?: Pick<
    ListenerLimits,
    'handshakeTimeoutMs' | 'maxStreamsPerConnection' | 'resetBudget' | 'resetWindowMs'
  >;
  /** A limit refused a connection or closed a session. */
  onLimit?: (limit: LimitName, source: string) => void;
}

function tlsOptions(c: Credential) {
  return {
    key: c.keyPem,
    cert: presentedChain(c),
    ca: [c.rootPem],
    ...HBONE_TLS,
    ALPNProtocols: ['h2'],
    requestCert: true,
    rejectUnauthorized: true,
  };
}

/** The peer of a TLS socket whose handle is gone: Node keeps the raw TCP socket as `_parent`. */
function peerAddress(socket: TLSSocket): string | undefined {
  return socket.remoteAddress ?? (socket as TLSSocket & { _parent?: net.Socket })._parent?.remoteAddress;
}

const key = (address: string | undefined, port: number | undefined) => `${address ?? ''}|${port ?? 0}`;

export class HboneServer {
  readonly server: Http2SecureServer;
  /** The TCP listener: gates each connection, then hands it to the TLS/h2 server. */
  readonly listener: net.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Handshakes in flight, by peer address|port, so 'secureConnection' can end them. */
  private readonly handshaking = new Map<string, GateTicket>();

  constructor(private readonly opts: HboneServerOptions) {
    const limits = { ...DEFAULT_LISTENER_LIMITS, ...opts.limits };
    this.server = http2.createSecureServer({
      ...tlsOptions(opts.credential),
      allowHTTP1: false,
      settings: { ...HBONE_SETTINGS, maxConcurrentStreams: limits.maxStreamsPerConnection },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      handshakeTimeout: limits.handshakeTimeoutMs,
    });
    this.listener = guardedServer({
      // Without a gate (unit tests), only the default connection and handshake caps apply.
      gate: opts.gate ?? new ConnectionGate(DEFAULT_LISTENER_LIMITS),
      handshake: true,
      onLimit: (limit, source) => opts.onLimit?.(limit, source),
      handle: (socket, ticket) => {
        const k = key(socket.remoteAddress, socket.remotePort);
        this.handshaking.set(k, ticket);
        socket.once('close', () => this.handshaking.delete(k));
        this.server.emit('connection', socket);
      },
    });
    // prepend: runs before http2's own listener builds a session on this socket.
    this.server.prependListener('secureConnection', (socket: TLSSocket) => {
      const k = key(socket.remoteAddress, socket.remotePort);
      this.handshaking.get(k)?.handshakeDone();
      this.handshaking.delete(k);
      const id = spiffeIdOfCert(socket.getPeerCertificate()?.subjectaltname);
      const parsed = id ? parseSpiffeId(id) : undefined;
      if (!id || !parsed || parsed.trustDomain !== this.opts.trustDomain()) {
        this.opts.onRejectedPeer?.({
          code: 'TRUST_DOMAIN',
          reason: `peer identity ${id ?? '(none)'} is not of trust domain ${this.opts.trustDomain()}`,
          address: socket.remoteAddress,
        });
        socket.destroy();
        return;
      }
      (socket as TLSSocket & { [PEER_PRINCIPAL]?: string })[PEER_PRINCIPAL] = id;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    });
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const address = peerAddress(socket);
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') opts.onLimit?.('handshake-timeout', address ?? '');
      this.opts.onRejectedPeer?.({
        code: err.code ?? 'TLS_ERROR',
        reason: err.code === 'ECONNRESET' ? 'peer closed the connection during the handshake' : err.message,
        address,
      });
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
      tuneSession(session);
      this.watchResets(session, limits);
    });
    this.server.on('stream', (stream, headers) => {
      const socket = stream.session?.socket as TLSSocket | undefined;
      // session.socket is a Proxy that forwards property reads to the TLS socket.
      const principal = (socket as (TLSSocket & { [PEER_PRINCIPAL]?: string }) | undefined)?.[PEER_PRINCIPAL];
      stream.on('error', () => undefined);
      if (!socket || !principal) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      this.opts.onTunnel(stream, headers, {
        principal,
        address: normalizeAddress(socket.remoteAddress),
        port: socket.remotePort ?? 0,
      });
    });
  }

  /**
   * Rapid reset (CVE-2023-44487 and kin): a stream that ends within its first second reset by
   * either side, or answered 400, counts against the connection's budget; over it the session
   * gets GOAWAY ENHANCE_YOUR_CALM and is closed.
   */
  private watchResets(
    session: ServerHttp2Session,
    limits: Pick<ListenerLimits, 'resetBudget' | 'resetWindowMs'>,
  ): void {
    const budget = new ResetBudget(limits.resetBudget, limits.resetWindowMs);
    let calmed = false;
    session.on('stream', (stream: ServerHttp2Stream) => {
      const opened = Date.now();
      stream.once('close', () => {
        if (calmed || Date.now() - opened >= RAPID_STREAM_MS) return;
        const reset = stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
        const badRequest = stream.sentHeaders?.[':status'] === 400;
        if (!(reset || badRequest) || !budget.record()) return;
        calmed = true;
        this.opts.onLimit?.('reset-budget', normalizeAddress(session.socket?.remoteAddress));
        try {
          session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        } catch {
          /* already closing */
        }
        // Give the GOAWAY a moment to leave, then drop whatever the peer still has open.
        setTimeout(() => session.destroy(), 100).unref();
      });
    });
  }

  /** New handshakes present the new certificate; open sessions keep theirs. */
  setCredential(c: Credential): void {
    this.server.setSecureContext(tlsOptions(c));
  }

  listen(opts: { host?: string; port?: number; fd?: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      const done = () => {
        this.listener.off('error', reject);
        resolve();
      };
      if (opts.fd !== undefined) this.listener.listen({ fd: opts.fd, exclusive: true }, done);
      else this.listener.listen({ host: opts.host, port: opts.port ?? 0, exclusive: true }, done);
    });
  }

  /** GOAWAY every session, stop accepting. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  destroy(): void {
    for (const s of this.sessions) s.destroy();
    this.listener.close();
  }
}
