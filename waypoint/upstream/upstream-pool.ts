// Upstream connections of the waypoint, all carried over HBONE to the endpoint's node ztunnel
// (DESIGN §6: the waypoint picks the endpoint and opens a second tunnel to that pod's node),
// presenting the waypoint's own identity. Per endpoint (pod ip:port): a keep-alive node:http Agent
// whose connections are HBONE tunnels (HTTP/1.1 requests), and one HTTP/2 session over one tunnel
// (HTTP/2 and gRPC requests, multiplexed). Connection counts feed the connection-pool limits.
import http from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { MeshNode } from '../../core/model/mesh.js';
import { HbonePool } from '../../ztunnel/hbone/hbone-pool.js';
import { formatAuthority, formatForwarded } from '../../ztunnel/hbone/hbone-headers.js';
import { StreamSocket } from '../net/stream-socket.js';
import { wpError } from '../errors.js';

export const HBONE_PORT = 15008;

export interface UpstreamEndpoint {
  ip: string;
  port: number;
  node: MeshNode;
}

export interface UpstreamSource {
  identity: string;
  secureContext: SecureContext;
  /** The waypoint's address, for the tunnel's forwarded header. */
  address: string;
}

export interface UpstreamPoolOptions {
  source: () => UpstreamSource;
  /** Idle keep-alive connections kept per endpoint. */
  maxFreeSockets?: number;
  /** Upstream connection opened (+1) or closed (-1), for the pool gauge and limits. */
  onConnection?: (delta: 1 | -1) => void;
}

/** The socket of one upstream connection: an HBONE tunnel, with its request count. */
export type UpstreamSocket = StreamSocket<{ endpoint: string; requests: number }>;

/** A keep-alive agent whose connections come from `connect` (node:http takes them through the callback). */
class TunnelAgent extends http.Agent {
  constructor(
    opts: http.AgentOptions,
    private readonly connect: (cb: (err: Error | null, socket?: Duplex) => void) => Promise<void>,
  ) {
    super(opts);
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    void this.connect((err, socket) => cb?.(err, socket as Duplex));
    return undefined;
  }
}

const endpointKey = (e: Pick<UpstreamEndpoint, 'ip' | 'port'>): string => formatAuthority(e.ip, e.port);

export class UpstreamPool {
  readonly hbone = new HbonePool();
  private readonly agents = new Map<string, http.Agent>();
  private readonly sessions = new Map<string, Promise<ClientHttp2Session>>();
  private open = 0;

  constructor(private readonly o: UpstreamPoolOptions) {}

  /** Upstream HTTP/1.1 connections in an agent's free list (between requests). */
  private readonly idle = new WeakSet<object>();

  /** Counts one more request on an upstream HTTP/1.1 connection (no longer idle); returns its count so far. */
  noteRequest(socket: object): number {
    this.idle.delete(socket);
    if (!(socket instanceof StreamSocket)) return 1;
    const ctx = (socket as UpstreamSocket).context;
    return ++ctx.requests;
  }

  /** Upstream connections open now (HTTP/1.1 tunnels and HTTP/2 sessions). */
  connections(): number {
    return this.open;
  }

  private counted(d: Duplex): void {
    this.open++;
    this.o.onConnection?.(1);
    d.once('close', () => {
      this.open--;
      this.o.onConnection?.(-1);
    });
  }

  /** Opens one HBONE tunnel to the endpoint (resolves once the destination ztunnel answered 200). */
  async tunnel(e: UpstreamEndpoint): Promise<Duplex> {
    const src = this.o.source();
    try {
      return await this.hbone.open({
        sourceIdentity: src.identity,
        secureContext: src.secureContext,
        serverIdentity: e.node.identity,
        gateway: { ip: e.node.address, port: HBONE_PORT },
        authority: { ip: e.ip, port: e.port },
        headers: { forwarded: formatForwarded(src.address, 0) },
      });
    } catch (err) {
      throw wpError(
        'WP_UPSTREAM_CONNECT',
        `HBONE tunnel to ${endpointKey(e)} via node ${e.node.name} (${e.node.address}) failed: ${(err as Error).message}`,
        err,
      );
    }
  }

  /** Whether every connection the agent may open is open and none is free: a request would wait. */
  static saturated(agent: http.Agent): boolean {
    if (!Number.isFinite(agent.maxSockets)) return false;
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>): number =>
      Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0);
    return count(agent.sockets) >= agent.maxSockets && count(agent.freeSockets) === 0;
  }

  /**
   * The keep-alive HTTP/1.1 agent of an endpoint; its connections are HBONE tunnels, at most
   * maxConnections of them (the TrafficPolicy's tcp.maxConnections, applied per endpoint).
   */
  agent(e: UpstreamEndpoint, maxConnections?: number): http.Agent {
    const key = endpointKey(e);
    let agent = this.agents.get(key);
    if (agent) agent.maxSockets = maxConnections ?? Infinity;
    if (!agent) {
      agent = new TunnelAgent(
        {
          keepAlive: true,
          maxFreeSockets: this.o.maxFreeSockets ?? 64,
          maxSockets: maxConnections ?? Infinity,
          scheduling: 'lifo',
        },
        (cb) =>
          this.tunnel(e).then(
            (stream) => {
              const socket: UpstreamSocket = new StreamSocket(
                stream,
                { endpoint: key, requests: 0 },
                { address: e.ip, port: e.port },
              );
              this.counted(socket);
              // The app closed the connection (its FIN arrives as END_STREAM). A free socket is
              // not read by node:http, so it would never see that end and would hand the dead
              // connection to the next request, which then waits forever: drop it at once.
              stream.once('end', () => {
                if (this.idle.has(socket)) socket.destroy();
              });
              cb(null, socket);
            },
            (err: Error) => cb(err),
          ),
      );
      agent.on('free', (socket: object) => this.idle.add(socket));
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** The HTTP/2 session of an endpoint (one tunnel, many streams); a new one once it closed. */
  session(e: UpstreamEndpoint): Promise<ClientHttp2Session> {
    const key = endpointKey(e);
    const cached = this.sessions.get(key);
    if (cached) return cached;
    const made = this.tunnel(e).then((stream) => {
      const socket = new StreamSocket(
        stream,
        { endpoint: key, requests: 0 },
        { address: e.ip, port: e.port },
      );
      this.counted(socket);
      const session = http2.connect(`http://${key}`, { createConnection: () => socket });
      session.on('error', () => undefined);
      const forget = (): void => {
        if (this.sessions.get(key) === made) this.sessions.delete(key);
      };
      session.once('close', forget);
      session.once('goaway', forget);
      // The app closed the connection under the session (END_STREAM on the tunnel): a session
      // over a JS stream is not told, and its next streams would wait forever. End it now.
      stream.once('end', () => {
        forget();
        session.destroy();
      });
      return session;
    });
    made.catch(() => {
      if (this.sessions.get(key) === made) this.sessions.delete(key);
    });
    this.sessions.set(key, made);
    return made;
  }

  /** Drops the cached HTTP/2 session of an endpoint (after it failed a request). */
  forgetSession(e: Pick<UpstreamEndpoint, 'ip' | 'port'>): void {
    const key = endpointKey(e);
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    s?.then((x) => x.close()).catch(() => undefined);
  }

  /** Retires pooled connections of the old certificate (rotation): new requests open fresh ones. */
  retireAll(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    for (const s of this.sessions.values()) s.then((x) => x.close()).catch(() => undefined);
    this.sessions.clear();
    this.hbone.retire(() => true);
  }

  close(): void {
    this.retireAll();
    this.hbone.close();
  }
}
