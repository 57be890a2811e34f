// Carries outbound decisions out: for a captured connection (15001, original destination from the
// resolver) or a SOCKS5 CONNECT (destination given), asks decideOutbound(), then opens an HBONE
// tunnel (to the destination node or a waypoint) with the source pod's certificate, or dials the
// destination directly (passthrough), or refuses. Each connection's labels, access-log line,
// metrics and load-balancer slot belong to one ProxiedConnection, ended once on whatever path.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decideOutbound, type OutboundDecision } from './decide-outbound.js';
import type { LoadBalancerState } from './endpoint-picker.js';
import type { OriginalDestinationResolver } from './original-destination.js';
import { splice, type SpliceResult } from '../hbone/splice.js';
import { openReplayable, type OpenedTunnel } from '../hbone/replayable-connect.js';
import type { HbonePool } from '../hbone/hbone-pool.js';
import { HboneTunnelError } from '../hbone/tunnel-error.js';
import { baggage, formatAuthority, formatForwarded, traceparent } from '../hbone/hbone-headers.js';
import { connectUpstream } from '../net/upstream-connect.js';
import { normalizeAddress } from '../net/peer-address.js';
import { endGracefully, resetOnProcessDeath } from '../net/abortive-close.js';
import type { WorkloadCertificates } from '../identity/workload-certificates.js';
import type { SnapshotWatch } from '../state/snapshot-watch.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import type { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';
import type { ResponseFlag } from '../telemetry/tcp-labels.js';
import { ProxiedConnection } from '../connection/proxied-connection.js';
import {
  OUTBOUND_ANSWERS,
  RESPONSE_FLAGS,
  tunnelFailure,
  type OutboundRefusal,
} from '../connection/refusal-reasons.js';

export interface OutboundProxyOptions {
  node: string;
  snapshots: SnapshotWatch<ZtunnelSnapshot>;
  pool: HbonePool;
  certificates: WorkloadCertificates;
  lb: LoadBalancerState;
  metrics: ZtunnelMetrics;
  logger: Logger;
  /** Default idle timeout when no TrafficPolicy sets one (undefined: never). */
  idleTimeoutMs?: number | undefined;
}

/** How the caller learns the outcome before bytes flow (SOCKS5 replies; capture does nothing). */
export interface OutboundHooks {
  ready?: () => void;
  refused?: (why: 'deny' | 'unreachable') => void;
}

type Address = { ip: string; port: number };

export class OutboundProxy {
  constructor(private readonly o: OutboundProxyOptions) {}

  handleCaptured(socket: Socket, resolver: OriginalDestinationResolver): void {
    const src = { ip: normalizeAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const orig = resolver.resolve({ sourceIp: src.ip, sourcePort: src.port });
    if (!orig) {
      this.o.metrics.decisions.inc({
        direction: 'outbound',
        decision: 'deny',
        reason: 'no-original-destination',
      });
      this.o.logger.warn({ src }, 'captured connection without an original destination; closing');
      socket.resetAndDestroy();
      return;
    }
    void this.handle(socket, src, orig);
  }

  async handle(socket: Socket, src: Address, dst: Address, hooks: OutboundHooks = {}): Promise<void> {
    socket.on('error', () => undefined);
    // captured (15001) and SOCKS5 clients: if this process dies, they read a reset, not an EOF
    resetOnProcessDeath(socket);
    const startedAt = Date.now();
    // The one read of the snapshot for this connection: the decision and the idle timeout.
    const snap = this.o.snapshots.get();
    if (!snap) {
      hooks.refused?.('unreachable');
      socket.resetAndDestroy();
      return;
    }
    const d = decideOutbound(
      snap,
      {
        node: this.o.node,
        sourceIp: src.ip,
        sourcePort: src.port,
        destinationIp: dst.ip,
        destinationPort: dst.port,
      },
      this.o.lb,
    );
    this.o.metrics.decisions.inc({
      direction: 'outbound',
      decision: d.kind,
      reason: d.kind === 'deny' ? d.reason : '-',
    });
    if (d.kind !== 'deny' && d.lb) this.o.lb.advance(d.lb.serviceKey, d.lb.nextCursor);
    const conn = this.connection(d, src, dst, startedAt);
    const idle = this.idleTimeout(snap, d);

    switch (d.kind) {
      case 'deny':
        this.refuse(socket, hooks, conn, d.reason, undefined, d.detail);
        return;
      case 'hbone':
      case 'waypoint':
        await this.tunnel(socket, src, d, hooks, conn, idle);
        return;
      case 'passthrough':
        await this.passthrough(socket, d, hooks, conn, idle);
        return;
      default: {
        const never: never = d;
        throw new Error(`unknown decision ${JSON.stringify(never)}`);
      }
    }
  }

  /** The connection's lifecycle, its labels and access-log fields taken from the decision once. */
  private connection(d: OutboundDecision, src: Address, dst: Address, startedAt: number): ProxiedConnection {
    const target = d.target;
    const dw = target?.workload;
    const destinationPrincipal =
      d.kind === 'hbone'
        ? dw?.identity
        : d.kind === 'waypoint'
          ? (dw?.identity ?? d.serverIdentity)
          : undefined;
    return new ProxiedConnection({
      metrics: this.o.metrics,
      logger: this.o.logger,
      startedAt,
      labels: {
        reporter: 'source',
        ...(d.source ? { source: d.source, sourcePrincipal: d.source.identity } : {}),
        ...(dw ? { destination: dw } : {}),
        ...(destinationPrincipal ? { destinationPrincipal } : {}),
        ...(target?.service ? { service: target.service } : {}),
        ...(!target?.service && !dw ? { destinationAddress: formatAuthority(dst.ip, dst.port) } : {}),
        mtls: d.kind === 'hbone' || d.kind === 'waypoint',
      },
      access: {
        direction: 'outbound',
        src: {
          ip: src.ip,
          port: src.port,
          ...(d.source
            ? { workload: `${d.source.namespace}/${d.source.name}`, identity: d.source.identity }
            : {}),
        },
        dst: {
          ...(d.kind === 'hbone'
            ? { ip: d.authority.ip, port: d.authority.port }
            : d.kind === 'passthrough'
              ? d.address
              : {}),
          ...(dw ? { workload: `${dw.namespace}/${dw.name}`, identity: dw.identity } : {}),
          ...(target?.service ? { service: target.service.hostname } : {}),
        },
        originalDestination: formatAuthority(dst.ip, dst.port),
        decision: d.kind === 'deny' ? `deny:${d.reason}` : d.kind,
      },
    });
  }

  /** The target Service's TrafficPolicy idle timeout, else the default (from the one snapshot read). */
  private idleTimeout(snap: ZtunnelSnapshot, d: OutboundDecision): number | undefined {
    const svc = d.kind !== 'deny' ? d.target.service : undefined;
    const fromPolicy = svc
      ? snap.trafficByService.get(`${svc.namespace}/${svc.name}`)?.idleTimeoutMs
      : undefined;
    return fromPolicy ?? this.o.idleTimeoutMs;
  }

  /** Ends a connection that never carried bytes: counted, answered (SOCKS5 refusal or reset), logged. */
  private refuse(
    socket: Socket,
    hooks: OutboundHooks,
    conn: ProxiedConnection,
    reason: OutboundRefusal,
    via: string | undefined,
    error: string | undefined,
  ): void {
    conn.refuse(RESPONSE_FLAGS[reason], 'refused', { via, error });
    if (hooks.refused) {
      hooks.refused(OUTBOUND_ANSWERS[reason]);
      if (!socket.destroyed) endGracefully(socket);
    } else if (!socket.destroyed) socket.resetAndDestroy();
  }

  private async tunnel(
    socket: Socket,
    src: Address,
    d: Extract<OutboundDecision, { kind: 'hbone' | 'waypoint' }>,
    hooks: OutboundHooks,
    conn: ProxiedConnection,
    idle: number | undefined,
  ): Promise<void> {
    const via = `${d.kind === 'waypoint' ? 'waypoint ' : ''}${formatAuthority(d.gateway.ip, d.gateway.port)}`;
    // A captured connection (no SOCKS5 reply to send) starts forwarding right behind the
    // CONNECT: the client's first bytes ride with the HEADERS instead of waiting a round trip
    // for the 200. A SOCKS5 client must hear "connected" only after the 200.
    const early = !hooks.ready && !hooks.refused;
    if (d.lb) conn.hold(this.o.lb.lease(d.lb.endpoint));
    const failed = (err: unknown) =>
      this.refuse(
        socket,
        hooks,
        conn,
        err instanceof HboneTunnelError ? tunnelFailure(err) : 'hbone-setup',
        via,
        (err as Error).message,
      );
    let opened: OpenedTunnel;
    try {
      const tlsMaterial = await this.o.certificates.get(d.source.identity);
      opened = await openReplayable(
        this.o.pool,
        {
          sourceIdentity: d.source.identity,
          secureContext: tlsMaterial.secureContext,
          serverIdentity: d.serverIdentity,
          gateway: d.gateway,
          authority: d.authority,
          headers: {
            forwarded: formatForwarded(src.ip, src.port, d.forwardedHost),
            traceparent: traceparent(),
            baggage: baggage(d.source),
          },
        },
        socket,
        {
          early,
          onReplay: (err) => {
            this.o.logger.info({ via, error: err.message }, 'HBONE CONNECT refused unprocessed; sent again');
          },
        },
      );
    } catch (err) {
      if (socket.destroyed) {
        conn.discard();
        return;
      }
      failed(err);
      return;
    }
    const { stream, earlyBytes } = opened;
    if (socket.destroyed) {
      stream.close();
      conn.discard();
      return;
    }
    hooks.ready?.();
    await this.carry(socket, stream, conn, via, idle, earlyBytes);
  }

  private async passthrough(
    socket: Socket,
    d: Extract<OutboundDecision, { kind: 'passthrough' }>,
    hooks: OutboundHooks,
    conn: ProxiedConnection,
    idle: number | undefined,
  ): Promise<void> {
    const via = formatAuthority(d.address.ip, d.address.port);
    if (d.lb) conn.hold(this.o.lb.lease(d.lb.endpoint));
    let upstream;
    try {
      upstream = await connectUpstream(d.address);
    } catch (err) {
      this.refuse(socket, hooks, conn, 'upstream-connect', via, (err as Error).message);
      return;
    }
    if (socket.destroyed) {
      upstream.destroy();
      conn.discard();
      return;
    }
    hooks.ready?.();
    await this.carry(socket, upstream, conn, via, idle);
  }

  private async carry(
    socket: Socket,
    upstream: Parameters<typeof splice>[1],
    conn: ProxiedConnection,
    via: string,
    idle: number | undefined,
    earlyBytes = 0,
  ): Promise<void> {
    conn.open();
    const r: SpliceResult = await splice(socket, upstream, idle ? { idleTimeoutMs: idle } : {});
    r.received += earlyBytes;
    const flags: ResponseFlag = r.outcome === 'idle-timeout' ? 'IDLE_TIMEOUT' : '-';
    conn.close({
      flags,
      result: r.outcome === 'eof' ? 'ok' : r.outcome,
      bytes: r,
      via,
      error: r.error?.message,
    });
  }
}
