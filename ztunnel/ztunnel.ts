// One ztunnel process: subscribes to the controller, keeps the snapshot and certificates current,
// and runs the listeners of DESIGN §4 (15001 outbound capture and 15006 inbound plaintext on the
// mesh address; 15008 HBONE, 15020 admin and 15021 readiness on the node address; optional
// SOCKS5). Wiring only: decisions live in outbound/ and inbound/, bytes in hbone/.
import net from 'node:net';
import type http from 'node:http';
import type { Logger } from 'pino';
import { createLogger } from '../core/telemetry/logger.js';
import type { MeshState } from '../core/model/mesh.js';
import { SnapshotWatch } from './state/snapshot-watch.js';
import { buildSnapshot, type ZtunnelSnapshot } from './state/ztunnel-snapshot.js';
import { HboneServer } from './hbone/hbone-server.js';
import { HbonePool } from './hbone/hbone-pool.js';
import { InboundProxy } from './inbound/inbound-proxy.js';
import { InpodCapture } from './inbound/inpod-capture.js';
import { OutboundProxy } from './outbound/outbound-proxy.js';
import { handleSocks5 } from './outbound/socks5-listener.js';
import { LoadBalancerState } from './outbound/endpoint-picker.js';
import type { OriginalDestinationResolver } from './outbound/original-destination.js';
import { WorkloadCertificates, type RotatingCertificate } from './identity/workload-certificates.js';
import type { Credential } from './identity/credential.js';
import { ZtunnelMetrics } from './telemetry/ztunnel-metrics.js';
import {
  createAdminServer,
  createReadinessServer,
  isLoopbackRequest,
  type AdminSources,
} from './admin/admin-server.js';
import type { ControlPlane } from './control-plane.js';
import { ztError } from './errors.js';
import { reusePortListener } from './net/reuseport-socket.js';
import {
  DEFAULT_LISTENER_LIMITS,
  type LimitName,
  type ListenerLimits,
  type ListenerName,
} from './limits/listener-limits.js';
import { ConnectionGate } from './limits/connection-gate.js';
import { FdHeadroom } from './limits/fd-headroom.js';
import { guardedServer } from './limits/guarded-listener.js';
import { isFdExhaustion, LimitMetrics } from './limits/limit-metrics.js';
import { RefusalLog } from './limits/refusal-log.js';

export const ZTUNNEL_PORTS = {
  outbound: 15001,
  inboundPlaintext: 15006,
  hbone: 15008,
  admin: 15020,
  ready: 15021,
} as const;

export interface ZtunnelOptions {
  node: string;
  controlPlane: ControlPlane;
  resolver: OriginalDestinationResolver;
  /** Node address override (else the Node's InternalIP from the snapshot). */
  address?: string;
  /** Where capture listeners live and the source address for dials to local pods. */
  meshAddress: string;
  socks5?: { host: string; port: number };
  ports?: Partial<Record<keyof typeof ZTUNNEL_PORTS, number>>;
  /** Pre-made listening fds (SO_REUSEPORT workers), by port name. */
  fds?: Partial<Record<keyof typeof ZTUNNEL_PORTS | 'socks5', number>>;
  /** Skip the admin listeners (a worker whose primary serves them). */
  adminListeners?: boolean;
  /** Listen with SO_REUSEPORT sockets (several worker processes on the same ports). */
  reusePort?: boolean;
  idleTimeoutMs?: number;
  logger?: Logger;
  metrics?: ZtunnelMetrics;
  /** How long start() waits for the first snapshot naming this node. */
  startTimeoutMs?: number;
  /** Listener limits (issue 8); unset fields take DEFAULT_LISTENER_LIMITS. */
  limits?: Partial<ListenerLimits>;
  /** PERMISSIVE capture: in-pod listeners + sk_lookup (inbound/inpod-capture.ts); needs the agent's pins. */
  inpodCapture?: boolean;
}

export class Ztunnel {
  readonly snapshots = new SnapshotWatch<ZtunnelSnapshot>();
  readonly metrics: ZtunnelMetrics;
  readonly logger: Logger;
  readonly pool: HbonePool;
  readonly certificates: WorkloadCertificates;
  private nodeRotator: RotatingCertificate | undefined;
  private nodeCredential: Credential | undefined;
  private hbone: HboneServer | undefined;
  private readonly servers: (net.Server | http.Server)[] = [];
  private subscription: { close(): Promise<void> } | undefined;
  private readonly lb = new LoadBalancerState();
  private updates = 0;
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Addresses actually bound, by listener name. */
  readonly bound: Record<string, { address: string; port: number }> = {};
  readonly limits: ListenerLimits;
  readonly limitMetrics: LimitMetrics;
  private readonly fdHeadroom: FdHeadroom;
  /** One log line per (listener, limit or reason, peer) per minute; every refusal is counted. */
  private readonly refusals = new RefusalLog();
  private inpod: InpodCapture | undefined;

  constructor(private readonly o: ZtunnelOptions) {
    this.logger = o.logger ?? createLogger('ztunnel', { base: { node: o.node } });
    this.metrics = o.metrics ?? new ZtunnelMetrics();
    this.pool = new HbonePool({ onConnectionCount: (n) => this.metrics.poolConnections.set(n) });
    this.limits = { ...DEFAULT_LISTENER_LIMITS, ...o.limits };
    this.fdHeadroom = new FdHeadroom(this.limits.fdReserve);
    this.limitMetrics = new LimitMetrics(this.metrics.registry, () => this.fdHeadroom.limit);
    this.certificates = new WorkloadCertificates(o.controlPlane.workloadRotator, {
      onRotate: (identity) => {
        this.logger.info(
          { identity },
          'workload certificate rotated; pooled connections of the old one retire',
        );
        this.pool.retire((key) => key.startsWith(`${identity}|`));
      },
      onError: (identity, err) =>
        this.logger.warn({ identity, err: (err as Error).message }, 'workload certificate not issued'),
    });
  }

  ready(): boolean {
    return (
      this.snapshots.get() !== undefined && this.nodeCredential !== undefined && this.hbone !== undefined
    );
  }

  async start(): Promise<void> {
    // 1. Node identity first: it authenticates us to the controller for everything else.
    this.nodeRotator = this.o.controlPlane.nodeCertificate((c) => {
      this.nodeCredential = c;
      this.hbone?.setCredential(c);
      this.logger.info({ notAfter: c.notAfter.toISOString() }, 'node certificate rotated');
    });
    const issued = await this.nodeRotator.start();
    this.nodeCredential = issued;
    // 2. Discovery; wait for a snapshot that names our node (its address and identity).
    const timeoutMs = this.o.startTimeoutMs ?? 60_000;
    const first = this.snapshots.first(
      (s) => this.o.address !== undefined || s.nodeByName.has(this.o.node),
      timeoutMs,
      () =>
        ztError('ZT_NO_NODE', `node ${this.o.node} did not appear in the mesh state within ${timeoutMs} ms`),
    );
    first.catch(() => undefined); // awaited below; a timeout while subscribing must not go unhandled
    this.subscription = await this.o.controlPlane.subscribe((state, version) => this.apply(state, version));
    const snap = await first;
    const address = this.o.address ?? snap.nodeByName.get(this.o.node)?.address;
    if (address === undefined) {
      throw ztError('ZT_NO_NODE', `node ${this.o.node} is not in the mesh state it was awaited in`);
    }
    // the newest node certificate: a rotation while waiting for the snapshot replaced `issued`
    await this.listen(address, this.nodeCredential ?? issued);
    this.expiryTimer = setInterval(() => this.reportExpiry(), 10_000);
    this.expiryTimer.unref();
    this.reportExpiry();
    this.logger.info({ address, meshAddress: this.o.meshAddress, bound: this.bound }, 'ztunnel ready');
  }

  private apply(state: MeshState, version: string): void {
    const snap = buildSnapshot(state, version); // conversion before the swap; throws -> NACK
    this.snapshots.set(snap);
    this.metrics.snapshotVersion.set(++this.updates);
    const mine = new Set(
      state.workloads
        .filter((w) => w.node === this.o.node && w.enrolled && !w.terminating)
        .map((w) => w.identity),
    );
    this.certificates.sync(mine);
  }

  private reportExpiry(): void {
    const now = Date.now();
    this.metrics.certExpiry.reset();
    const held = [...this.certificates.held(), ...(this.nodeCredential ? [this.nodeCredential] : [])];
    for (const c of held)
      this.metrics.certExpiry.set({ identity: c.identity }, Math.round((c.notAfter.getTime() - now) / 1000));
  }

  private port(name: keyof typeof ZTUNNEL_PORTS): number {
    return this.o.ports?.[name] ?? ZTUNNEL_PORTS[name];
  }

  private async listenNet(
    name: string,
    server: net.Server | http.Server,
    host: string,
    port: number,
    fd?: number,
  ): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(ztError('ZT_LISTEN', `cannot listen for ${name} on ${host}:${port}: ${err.message}`, err));
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        resolve();
      };
      try {
        const useFd = fd ?? (this.o.reusePort ? reusePortListener(host, port) : undefined);
        if (useFd !== undefined) server.listen({ fd: useFd, exclusive: true }, done);
        else server.listen({ host, port, exclusive: true }, done);
      } catch (err) {
        reject(err);
      }
    });
    const a = server.address();
    if (a && typeof a === 'object') this.bound[name] = { address: a.address, port: a.port };
    // After listen: accept() failures (EMFILE under a connection flood) are logged and counted,
    // never left to crash the process or vanish.
    server.on('error', (err: NodeJS.ErrnoException) => this.listenerError(name, err));
    this.servers.push(server);
  }

  private listenerError(name: string, err: NodeJS.ErrnoException): void {
    if (isFdExhaustion(err)) {
      this.limitMetrics.fdErrors.inc({ where: name, code: err.code ?? 'EMFILE' });
      const v = this.refusals.refused(`fd|${name}`);
      if (v.log)
        this.logger.error(
          { listener: name, code: err.code, suppressed: v.suppressed },
          `out of file descriptors accepting on ${name} (${err.code}); raise the fd limit or lower --max-connections`,
        );
      return;
    }
    this.logger.error({ listener: name, err: err.message, code: err.code }, `listener ${name} error`);
  }

  /** A listener limit refused a connection (or closed a session): counted always, logged once per peer per minute. */
  private limitHit(listener: ListenerName, limit: LimitName, source: string): void {
    this.limitMetrics.hit(listener, limit);
    const v = this.refusals.refused(`${listener}|${limit}|${source}`);
    if (v.log)
      this.logger.warn(
        { listener, limit, peer: source, suppressed: v.suppressed },
        `${listener}: ${limit} limit hit, connection refused`,
      );
  }

  private gate(): ConnectionGate {
    return new ConnectionGate(this.limits, this.fdHeadroom);
  }

  private async listen(address: string, nodeCredential: Credential): Promise<void> {
    const inbound = new InboundProxy({
      node: this.o.node,
      meshAddress: this.o.meshAddress,
      snapshots: this.snapshots,
      metrics: this.metrics,
      logger: this.logger,
      ...(this.o.idleTimeoutMs ? { idleTimeoutMs: this.o.idleTimeoutMs } : {}),
    });
    const outbound = new OutboundProxy({
      node: this.o.node,
      snapshots: this.snapshots,
      pool: this.pool,
      certificates: this.certificates,
      lb: this.lb,
      metrics: this.metrics,
      logger: this.logger,
      ...(this.o.idleTimeoutMs ? { idleTimeoutMs: this.o.idleTimeoutMs } : {}),
    });
    const hbone = new HboneServer({
      credential: nodeCredential,
      trustDomain: () => this.snapshots.get()?.trustDomain ?? 'cluster.local',
      onTunnel: (stream, headers, peer) => inbound.handleTunnel(stream, headers, peer),
      onRejectedPeer: ({ code, reason, address: peer }) => {
        this.metrics.decisions.inc({ direction: 'inbound', decision: 'reject', reason: 'tls' });
        this.limitMetrics.tlsRefusals.inc({ reason: code });
        const v = this.refusals.refused(`tls|${peer ?? '?'}`);
        if (v.log)
          this.logger.warn(
            { peer: peer ?? 'unknown', code, reason, suppressed: v.suppressed },
            'HBONE client refused at TLS',
          );
      },
      gate: this.gate(),
      limits: this.limits,
      onLimit: (limit, source) => this.limitHit('hbone', limit, source),
    });
    await this.listenNet('hbone', hbone.listener, address, this.port('hbone'), this.o.fds?.hbone);
    this.hbone = hbone;

    const capture = guardedServer({
      gate: this.gate(),
      serverOptions: { allowHalfOpen: true, pauseOnConnect: true },
      onLimit: (limit, source) => this.limitHit('outbound', limit, source),
      handle: (s) => outbound.handleCaptured(s, this.o.resolver),
    });
    await this.listenNet(
      'outbound',
      capture,
      this.o.meshAddress,
      this.port('outbound'),
      this.o.fds?.outbound,
    );
    const plaintext = guardedServer({
      gate: this.gate(),
      serverOptions: { allowHalfOpen: true, pauseOnConnect: true },
      onLimit: (limit, source) => this.limitHit('inboundPlaintext', limit, source),
      handle: (s) => inbound.handlePlaintext(s, this.o.resolver),
    });
    await this.listenNet(
      'inboundPlaintext',
      plaintext,
      this.o.meshAddress,
      this.port('inboundPlaintext'),
      this.o.fds?.inboundPlaintext,
    );
    if (this.o.inpodCapture) {
      this.inpod = new InpodCapture({
        node: this.o.node,
        snapshots: this.snapshots,
        logger: this.logger,
        handle: (s, resolver) => inbound.handlePlaintext(s, resolver),
      });
      this.inpod.start();
    }
    if (this.o.socks5) {
      const socks = guardedServer({
        gate: this.gate(),
        serverOptions: { allowHalfOpen: true },
        handshake: true,
        handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
        onLimit: (limit, source) => this.limitHit('socks5', limit, source),
        handle: (s, ticket) => handleSocks5(s, outbound, () => ticket.handshakeDone()),
      });
      await this.listenNet('socks5', socks, this.o.socks5.host, this.o.socks5.port, this.o.fds?.socks5);
    }
    if (this.o.adminListeners !== false) {
      const sources: AdminSources = {
        metrics: async () => ({
          contentType: this.metrics.registry.contentType,
          body: await this.metrics.registry.metrics(),
        }),
        configDump: () => this.configDump(),
        workloads: () => this.workloadsDump(),
        ready: () => this.ready(),
      };
      const admin = createAdminServer(sources);
      await this.listenNet('admin', admin, address, this.port('admin'), this.o.fds?.admin);
      // The debug paths answer loopback clients only; on a node address that is not loopback, a
      // second admin listener on 127.0.0.1 is where `curl 127.0.0.1:15020/config_dump` works.
      if (!isLoopbackRequest(address, address) && this.o.fds?.admin === undefined) {
        await this.listenNet(
          'adminLoopback',
          createAdminServer(sources),
          '127.0.0.1',
          this.port('admin'),
        ).catch((err: Error) =>
          this.logger.warn({ err: err.message }, 'no loopback admin listener; debug endpoints unreachable'),
        );
      }
      await this.listenNet(
        'ready',
        createReadinessServer(() => this.ready()),
        address,
        this.port('ready'),
        this.o.fds?.ready,
      );
    }
  }

  configDump(): unknown {
    const s = this.snapshots.get();
    return {
      node: this.o.node,
      version: s?.version,
      meshAddress: this.o.meshAddress,
      listeners: this.bound,
      certificates: [...this.certificates.held(), ...(this.nodeCredential ? [this.nodeCredential] : [])].map(
        (c) => ({
          identity: c.identity,
          notAfter: c.notAfter.toISOString(),
        }),
      ),
      poolConnections: this.pool.connections(),
      state: s?.state,
    };
  }

  workloadsDump(): unknown {
    const s = this.snapshots.get();
    return (s?.state.workloads ?? []).map((w) => ({
      uid: w.uid,
      namespace: w.namespace,
      name: w.name,
      node: w.node,
      ips: w.ips,
      identity: w.identity,
      enrolled: w.enrolled,
      ready: w.ready,
      local: w.node === this.o.node,
      ...(w.waypoint ? { waypoint: `${w.waypoint.namespace}/${w.waypoint.name}` } : {}),
    }));
  }

  /** Drain: GOAWAY pooled and served HBONE connections, stop listening, stop rotators. */
  async stop(): Promise<void> {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.inpod?.stop();
    this.pool.close();
    await Promise.all([
      this.hbone?.close(),
      ...this.servers
        .filter((s) => s !== this.hbone?.listener)
        .map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
    await this.subscription?.close();
    this.certificates.stop();
    this.nodeRotator?.stop();
    this.o.resolver.close();
    this.o.controlPlane.close();
  }

  /** Hard stop for tests: close everything without waiting for tunnels. */
  destroy(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.inpod?.stop();
    this.pool.close();
    this.hbone?.destroy();
    for (const s of this.servers) {
      s.close();
      if ('closeAllConnections' in s) s.closeAllConnections();
    }
    void this.subscription?.close();
    this.certificates.stop();
    this.nodeRotator?.stop();
    this.o.controlPlane.close();
  }
}
