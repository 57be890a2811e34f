// One waypoint process (DESIGN §1, §6): obtains its own identity, subscribes to its view, and
// runs 15008 (HBONE in, mutual TLS with its identity), 15021 (readiness) and 15090 (metrics).
// Each tunnel's :authority names what the client dialled (a Service VIP:port or a pod IP:port);
// the bytes inside are sniffed as HTTP/2 prior knowledge (h2c, gRPC) or HTTP/1.1 and served by
// node:http2 / node:http over the tunnel; each request goes through RequestPipeline and out over
// a second HBONE tunnel to the chosen endpoint's node. Wiring only: decisions live in routing/,
// resilience/, policy/; bytes in proxy/ and upstream/.
import http from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { Logger } from 'pino';
import { createLogger } from '../core/telemetry/logger.js';
import type { MeshState } from '../core/model/mesh.js';
import { systemClock } from '../core/policy/clock.js';
import { HboneServer, type HbonePeer } from '../ztunnel/hbone/hbone-server.js';
import { parseAuthority } from '../ztunnel/hbone/hbone-headers.js';
import { secureContextOf, type Credential } from '../ztunnel/identity/credential.js';
import type { RotatingCertificate } from '../ztunnel/identity/workload-certificates.js';
import { createMetricsServer, createReadinessServer } from '../ztunnel/admin/admin-server.js';
import { SnapshotWatch } from '../ztunnel/state/snapshot-watch.js';
import type { WaypointControlPlane } from './control-plane.js';
import { wpError } from './errors.js';
import { StreamSocket } from './net/stream-socket.js';
import {
  clientIpOf,
  RequestPipeline,
  type RequestObserver,
  type TunnelContext,
} from './proxy/request-pipeline.js';
import { ResilienceRegistry } from './proxy/service-resilience.js';
import { buildWaypointSnapshot, resolveTarget, type WaypointSnapshot } from './state/waypoint-snapshot.js';
import { UpstreamPool } from './upstream/upstream-pool.js';
import { WaypointTelemetry } from './waypoint-telemetry.js';

export const WAYPOINT_PORTS = { hbone: 15008, ready: 15021, metrics: 15090 } as const;

/** How long in-flight requests get after SIGTERM before the process exits anyway. */
export const DRAIN_GRACE_MS = 20_000;

/** While draining, an HTTP/1.1 connection that carried no request for this long is closed. */
export const DRAIN_IDLE_MS = 2_000;

export interface WaypointOptions {
  /** <namespace>/<gateway> */
  name: string;
  controlPlane: WaypointControlPlane;
  /** Where to listen (the waypoint pod's IP); default: the instance address from the state. */
  address?: string;
  ports?: Partial<Record<keyof typeof WAYPOINT_PORTS, number>>;
  logger?: Logger;
  /** OTLP/HTTP endpoint (else OTEL_EXPORTER_OTLP_ENDPOINT); spans are off without one. */
  otlpEndpoint?: string | undefined;
  /** Share of requests traced when the client did not decide (0-100). */
  traceSamplingPercent?: number;
  startTimeoutMs?: number;
  random?: () => number;
}

const SNIFF_H2 = Buffer.from('PRI * HTTP/2.0');

export class Waypoint {
  readonly snapshots = new SnapshotWatch<WaypointSnapshot>();
  readonly logger: Logger;
  readonly telemetry: WaypointTelemetry;
  readonly upstream: UpstreamPool;
  readonly bound: Record<string, { address: string; port: number }> = {};
  private readonly namespace: string;
  private readonly gateway: string;
  private rotator: RotatingCertificate | undefined;
  private credential: Credential | undefined;
  private material: { identity: string; secureContext: ReturnType<typeof secureContextOf> } | undefined;
  private hbone: HboneServer | undefined;
  private readonly servers: (net.Server | http.Server)[] = [];
  private subscription: { close(): Promise<void> } | undefined;
  private readonly pipeline: RequestPipeline;
  private readonly h1 = http.createServer({ keepAliveTimeout: 60_000 });
  private readonly h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  private readonly h1Sockets = new Set<StreamSocket<TunnelContext>>();
  /** HTTP/1.1 connections with a request in flight, and since when the others are idle (drain). */
  private readonly h1Busy = new WeakSet<object>();
  private readonly h1IdleSince = new WeakMap<object, number>();
  /** The tunnel context being handed to node:http2 (its 'session' event fires synchronously). */
  private handing: TunnelContext | undefined;
  private readonly sessionContext = new WeakMap<http2.ServerHttp2Session, TunnelContext>();
  private draining = false;
  private inFlight = 0;
  private address = '';
  private readonly resilience: ResilienceRegistry;

  constructor(private readonly o: WaypointOptions) {
    const [ns, gw] = o.name.split('/');
    if (!ns || !gw || o.name.split('/').length !== 2)
      throw wpError('WP_BAD_NAME', `--name ${JSON.stringify(o.name)} is not <namespace>/<gateway>`);
    this.namespace = ns;
    this.gateway = gw;
    this.logger = o.logger ?? createLogger('waypoint', { base: { waypoint: o.name } });
    const random = o.random ?? Math.random;
    this.telemetry = new WaypointTelemetry({
      logger: this.logger,
      waypoint: { namespace: ns, name: gw },
      otlpEndpoint: o.otlpEndpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
      samplingPercent: o.traceSamplingPercent ?? 1,
      random,
    });
    this.upstream = new UpstreamPool({
      source: () => {
        if (!this.material) throw wpError('WP_NOT_IN_STATE', `waypoint ${o.name} has no identity yet`);
        return { ...this.material, address: this.address };
      },
      onConnection: (d) => this.telemetry.upstreamConnections(d),
    });
    this.resilience = new ResilienceRegistry(systemClock, random);
    const observer: RequestObserver = this.telemetry;
    this.pipeline = new RequestPipeline({
      upstream: this.upstream,
      resilience: (svc, snap) => this.resilience.for(svc, snap),
      observer,
      waypoint: { namespace: ns, name: gw },
      random,
      draining: () => this.draining,
    });
    this.h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      if (!(socket instanceof StreamSocket)) {
        res.destroy();
        return;
      }
      this.serve(req, res, (socket as StreamSocket<TunnelContext>).context);
    });
    this.h1.on('clientError', (_err, socket: StreamSocket<TunnelContext>) => {
      if (!socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      if (this.handing) this.sessionContext.set(session, this.handing);
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      session.on('error', () => undefined);
      if (this.draining) session.close();
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const ctx = this.sessionContext.get(req.stream.session as http2.ServerHttp2Session);
      if (!ctx) {
        req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      this.serve(req, res, ctx);
    });
  }

  private serve(
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
    ctx: TunnelContext,
  ): void {
    this.inFlight++;
    this.telemetry.inFlight(1);
    const socket = req.socket;
    if (socket instanceof StreamSocket) {
      this.h1Busy.add(socket);
      res.once('close', () => {
        this.h1Busy.delete(socket);
        this.h1IdleSince.set(socket, Date.now());
      });
    }
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    this.pipeline
      .handle(req, res, ctx)
      .catch((err: unknown) => {
        this.logger.error({ err: (err as Error).message }, 'request failed inside the waypoint');
        if (!res.headersSent) {
          res.writeHead(500);
          res.end();
        } else res.destroy();
      })
      .finally(() => {
        this.inFlight--;
        this.telemetry.inFlight(-1);
      });
  }

  get name(): string {
    return `${this.namespace}/${this.gateway}`;
  }

  ready(): boolean {
    return (
      !this.draining &&
      this.snapshots.get() !== undefined &&
      this.material !== undefined &&
      this.hbone !== undefined
    );
  }

  requestsInFlight(): number {
    return this.inFlight;
  }

  private setCredential(c: Credential): void {
    this.credential = c;
    this.material = { identity: c.identity, secureContext: secureContextOf(c) };
    this.hbone?.setCredential(c);
    this.upstream.retireAll();
    this.telemetry.certExpiry(c);
  }

  async start(): Promise<void> {
    this.rotator = this.o.controlPlane.identity((c) => {
      this.setCredential(c);
      this.logger.info({ notAfter: c.notAfter.toISOString() }, 'waypoint certificate rotated');
    });
    this.setCredential(await this.rotator.start());
    const timeoutMs = this.o.startTimeoutMs ?? 60_000;
    const first = this.snapshots.first(
      (s) => this.o.address !== undefined || (s.self?.instances.length ?? 0) > 0,
      timeoutMs,
      () =>
        wpError(
          'WP_NOT_IN_STATE',
          `waypoint ${this.name} did not appear in the mesh state within ${timeoutMs} ms`,
        ),
    );
    first.catch(() => undefined); // awaited below; a timeout while subscribing must not go unhandled
    this.subscription = await this.o.controlPlane.subscribe((state, version) => this.apply(state, version));
    const snap = await first;
    const address = this.o.address ?? snap.self?.instances[0]?.ip;
    if (!address)
      throw wpError('WP_NOT_IN_STATE', `waypoint ${this.name} has no instance address; pass --address`);
    this.address = address;
    const credential = this.credential;
    if (!credential) throw wpError('WP_NOT_IN_STATE', `waypoint ${this.name} has no certificate`);
    this.hbone = new HboneServer({
      credential,
      trustDomain: () => this.snapshots.get()?.trustDomain ?? 'cluster.local',
      onTunnel: (stream, headers, peer) => this.onTunnel(stream, headers, peer),
      onRejectedPeer: (r) => this.logger.warn({ peer: r.address, reason: r.reason }, 'HBONE peer refused'),
    });
    await this.listenOn('hbone', this.hbone.listener, address, this.port('hbone'), (o) =>
      this.hbone?.listen(o),
    );
    const readiness = createReadinessServer(() => this.ready());
    await this.listenOn('ready', readiness, address, this.port('ready'));
    const metrics = createMetricsServer(async () => ({
      contentType: this.telemetry.contentType,
      body: await this.telemetry.metricsText(),
    }));
    await this.listenOn('metrics', metrics, address, this.port('metrics'));
    this.logger.info({ address, bound: this.bound, identity: credential.identity }, 'waypoint ready');
  }

  private port(name: keyof typeof WAYPOINT_PORTS): number {
    return this.o.ports?.[name] ?? WAYPOINT_PORTS[name];
  }

  private async listenOn(
    name: string,
    server: net.Server | http.Server,
    host: string,
    port: number,
    listen?: (o: { host: string; port: number }) => Promise<void> | undefined,
  ): Promise<void> {
    try {
      if (listen) await listen({ host, port });
      else
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port, exclusive: true }, () => {
            server.off('error', reject);
            resolve();
          });
        });
    } catch (err) {
      throw wpError(
        'WP_LISTEN',
        `cannot listen on ${host}:${port} (${name}): ${(err as Error).message}`,
        err,
      );
    }
    if (!listen) this.servers.push(server);
    const a = server.address();
    if (a && typeof a === 'object') this.bound[name] = { address: a.address, port: a.port };
  }

  private apply(state: MeshState, version: string): void {
    const snap = buildWaypointSnapshot(state, version, this.name); // throws -> NACK, old state stays
    this.snapshots.set(snap);
    this.telemetry.configVersion();
  }

  private onTunnel(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: HbonePeer): void {
    const snap = this.snapshots.get();
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 400 });
      stream.end();
      return;
    }
    const auth = parseAuthority(headers[':authority']);
    const target = snap && auth ? resolveTarget(snap, auth.ip, auth.port) : undefined;
    if (!snap || !auth || !target || this.draining) {
      stream.respond({ ':status': !auth ? 400 : 503 });
      stream.end();
      if (auth && !target)
        this.logger.warn(
          { authority: headers[':authority'], peer: peer.principal },
          'tunnel to an address this waypoint does not serve',
        );
      return;
    }
    const held = snap;
    const forwarded = headers.forwarded;
    const ctx: TunnelContext = {
      snapshot: () => this.snapshots.get() ?? held,
      target,
      peer,
      clientIp: clientIpOf(typeof forwarded === 'string' ? forwarded : undefined, peer),
      baggage: typeof headers.baggage === 'string' ? headers.baggage : undefined,
      traceparent: typeof headers.traceparent === 'string' ? headers.traceparent : undefined,
    };
    stream.respond({ ':status': 200 });
    // Sniff: HTTP/2 prior knowledge starts with the connection preface, anything else is HTTP/1.1.
    const sniff = (): void => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) {
        stream.once('readable', sniff);
        return;
      }
      stream.unshift(chunk);
      const socket = new StreamSocket(stream, ctx, { address: ctx.clientIp, port: 0 });
      const h2 = chunk
        .subarray(0, SNIFF_H2.length)
        .equals(SNIFF_H2.subarray(0, Math.min(chunk.length, SNIFF_H2.length)));
      if (h2) {
        this.handing = ctx;
        try {
          this.h2.emit('connection', socket);
        } finally {
          this.handing = undefined;
        }
      } else {
        this.h1Sockets.add(socket);
        socket.once('close', () => this.h1Sockets.delete(socket));
        this.h1.emit('connection', socket);
      }
    };
    stream.once('readable', sniff);
  }

  /**
   * SIGTERM: stop taking new work and let clients go without losing a request. Readiness turns
   * 503; HTTP/2 sessions (and the HBONE sessions from ztunnels) get GOAWAY, so new tunnels go to
   * another instance; every HTTP/1.1 answer carries `Connection: close`, so each keep-alive
   * connection closes right after its next request instead of being cut while a request may be
   * on its way. An HTTP/1.1 connection idle for DRAIN_IDLE_MS is closed (its client sent nothing
   * after the drain began). Ends when nothing is open, or after graceMs.
   */
  async drain(graceMs = DRAIN_GRACE_MS): Promise<void> {
    this.draining = true;
    const started = Date.now();
    this.logger.info({ inFlight: this.inFlight, connections: this.h1Sockets.size }, 'waypoint draining');
    for (const s of this.h2Sessions) s.close();
    void this.hbone?.close();
    const deadline = started + graceMs;
    for (;;) {
      const now = Date.now();
      for (const s of this.h1Sockets) {
        if (this.h1Busy.has(s)) continue;
        const idleSince = Math.max(started, this.h1IdleSince.get(s) ?? started);
        if (now - idleSince >= DRAIN_IDLE_MS) s.end();
      }
      if (this.inFlight === 0 && this.h1Sockets.size === 0 && this.h2Sessions.size === 0) break;
      if (now >= deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.logger.info(
      { inFlight: this.inFlight, connections: this.h1Sockets.size, ms: Date.now() - started },
      'waypoint drained',
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.rotator?.stop();
    this.o.controlPlane.close();
    this.hbone?.destroy();
    for (const s of this.h2Sessions) s.destroy();
    for (const s of this.h1Sockets) s.destroy();
    for (const s of this.servers) s.close();
    this.upstream.close();
    await this.telemetry.shutdown();
  }
}
