// The HBONE server end (15008): terminates mutual TLS 1.3 (ALPN h2) presenting the node identity,
// accepts any client certificate that chains to the mesh root and whose SPIFFE trust domain is
// ours, and hands each CONNECT stream with the verified peer identity to the inbound path. Knows
// nothing about policy or pods.
import http2, { type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { parseSpiffeId, spiffeIdOfCert } from '../../core/identity/spiffe.js';
import { HBONE_TLS, presentedChain, type Credential } from '../identity/credential.js';
import { HBONE_SETTINGS, MAX_SESSION_MEMORY_MB, tuneSession } from './h2-settings.js';
import { TCP_KEEPALIVE_MS } from './splice.js';

/** The verified peer identity, read once per TLS connection (getPeerCertificate costs ~60 µs). */
const PEER_PRINCIPAL = Symbol('ambit.peerPrincipal');

export interface HbonePeer {
  principal: string;
  address: string;
  port: number;
}

export interface HboneServerOptions {
  credential: Credential;
  trustDomain: () => string;
  onTunnel: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: HbonePeer) => void;
  onRejectedPeer?: (reason: string, address: string | undefined) => void;
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

export class HboneServer {
  readonly server: Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly opts: HboneServerOptions) {
    this.server = http2.createSecureServer({
      ...tlsOptions(opts.credential),
      allowHTTP1: false,
      settings: HBONE_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    // prepend: runs before http2's own listener builds a session on this socket.
    this.server.prependListener('secureConnection', (socket: TLSSocket) => {
      const id = spiffeIdOfCert(socket.getPeerCertificate()?.subjectaltname);
      const parsed = id ? parseSpiffeId(id) : undefined;
      if (!parsed || parsed.trustDomain !== this.opts.trustDomain()) {
        this.opts.onRejectedPeer?.(
          `peer identity ${id ?? '(none)'} is not of trust domain ${this.opts.trustDomain()}`,
          socket.remoteAddress,
        );
        socket.destroy();
        return;
      }
      (socket as TLSSocket & { [PEER_PRINCIPAL]?: string })[PEER_PRINCIPAL] = id!;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    });
    this.server.on('tlsClientError', (err, socket) =>
      this.opts.onRejectedPeer?.(err.message, socket.remoteAddress),
    );
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
      tuneSession(session);
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
        address: normalizeAddress(socket.remoteAddress ?? ''),
        port: socket.remotePort ?? 0,
      });
    });
  }

  /** New handshakes present the new certificate; open sessions keep theirs. */
  setCredential(c: Credential): void {
    this.server.setSecureContext(tlsOptions(c));
  }

  listen(opts: { host?: string; port?: number; fd?: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve();
      };
      if (opts.fd !== undefined) this.server.listen({ fd: opts.fd, exclusive: true }, done);
      else this.server.listen({ host: opts.host, port: opts.port ?? 0, exclusive: true }, done);
    });
  }

  /** GOAWAY every session, stop accepting. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  destroy(): void {
    for (const s of this.sessions) s.destroy();
    this.server.close();
  }
}

export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
