// Carries outbound decisions out: for a captured connection (15001, original destination from the
// resolver) or a SOCKS5 CONNECT (destination given), asks decideOutbound(), then opens an HBONE
// tunnel (to the destination node or a waypoint) with the source pod's certificate, or dials the
// destination directly (passthrough), or refuses. Splices, reports telemetry, logs one line.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decideOutbound, type OutboundDecision } from './decide-outbound.js';
import type { LoadBalancerState } from './endpoint-picker.js';
import type { OriginalDestinationResolver } from './original-destination.js';
import { splice, type SpliceResult } from '../hbone/splice.js';
import { HboneTunnelError, type HbonePool } from '../hbone/hbone-pool.js';
import { baggage, formatAuthority, formatForwarded, traceparent } from '../hbone/hbone-headers.js';
import { connectUpstream } from '../net/upstream-connect.js';
import type { WorkloadCertificates } from '../identity/workload-certificates.js';
import type { SnapshotWatch } from '../state/snapshot-watch.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import type { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';
import { tcpLabels, type ResponseFlag } from '../telemetry/tcp-labels.js';
import { logAccess } from '../telemetry/access-log.js';

export interface OutboundProxyOptions {
  node: string;
  snapshots: SnapshotWatch<ZtunnelSnapshot>;
  pool: HbonePool;
  certificates: WorkloadCertificates;
  lb: LoadBalancerState;
  metrics: ZtunnelMetrics;
  logger: Logger;
  /** Default idle timeout when no TrafficPolicy sets one (undefined: never). */
  idleTimeoutMs?: number;
}

/** How the caller learns the outcome before bytes flow (SOCKS5 replies; capture does nothing). */
export interface OutboundHooks {
  ready?: () => void;
  refused?: (why: 'deny' | 'unreachable') => void;
}

const DENY_FLAGS: Record<string, ResponseFlag> = {
  'unknown-source': 'UNKNOWN_SOURCE',
  'source-not-on-node': 'UNKNOWN_SOURCE',
  'no-ready-endpoint': 'NO_HEALTHY_UPSTREAM',
  'no-waypoint-instance': 'NO_HEALTHY_UPSTREAM',
};

// The per-connection callbacks handle() builds and hands to tunnel(), passthrough() and carry().
/** The metric labels of this connection with the given response flags. */
type Labels = (flags: ResponseFlag) => ReturnType<typeof tcpLabels>;
/** Writes this connection's one access-log line. */
type LogAccess = (
  result: string,
  flags: string,
  via: string | undefined,
  r: { sent: number; received: number },
  error?: string,
) => void;
/** Counts, answers (SOCKS5 refusal or reset) and logs a connection that never carried bytes. */
type Refuse = (
  flags: ResponseFlag,
  via: string | undefined,
  why: 'deny' | 'unreachable',
  error: string,
) => void;

export class OutboundProxy {
  constructor(private readonly o: OutboundProxyOptions) {}

  handleCaptured(socket: Socket, resolver: OriginalDestinationResolver): void {
    const src = { ip: normalize(socket.remoteAddress), port: socket.remotePort ?? 0 };
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

  async handle(
    socket: Socket,
    src: { ip: string; port: number },
    dst: { ip: string; port: number },
    hooks: OutboundHooks = {},
  ): Promise<void> {
    socket.on('error', () => undefined);
    const started = Date.now();
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

    const labels: Labels = (flags) => {
      const target = d.target;
      const dw = target?.workload;
      const destinationPrincipal =
        d.kind === 'hbone'
          ? dw?.identity
          : d.kind === 'waypoint'
            ? (dw?.identity ?? d.serverIdentity)
            : undefined;
      return tcpLabels({
        reporter: 'source',
        ...(d.source ? { source: d.source, sourcePrincipal: d.source.identity } : {}),
        ...(dw ? { destination: dw } : {}),
        ...(destinationPrincipal ? { destinationPrincipal } : {}),
        ...(target?.service ? { service: target.service } : {}),
        ...(!target?.service && !dw ? { destinationAddress: formatAuthority(dst.ip, dst.port) } : {}),
        responseFlags: flags,
        mtls: d.kind === 'hbone' || d.kind === 'waypoint',
      });
    };
    const log: LogAccess = (result, flags, via, r, error) =>
      logAccess(this.o.logger, {
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
          ...(d.target?.workload
            ? {
                workload: `${d.target.workload.namespace}/${d.target.workload.name}`,
                identity: d.target.workload.identity,
              }
            : {}),
          ...(d.target?.service ? { service: d.target.service.hostname } : {}),
        },
        originalDestination: formatAuthority(dst.ip, dst.port),
        ...(via ? { via } : {}),
        decision: d.kind === 'deny' ? `deny:${d.reason}` : d.kind,
        result,
        responseFlags: flags,
        bytesSent: r.sent,
        bytesReceived: r.received,
        durationMs: Date.now() - started,
        ...(error ? { error } : {}),
      });
    const fail: Refuse = (flags, via, why, error) => {
      const l = labels(flags);
      this.o.metrics.connectionOpened(l);
      this.o.metrics.connectionClosed(l, 0, 0);
      if (hooks.refused) {
        hooks.refused(why);
        if (!socket.destroyed) socket.end();
      } else if (!socket.destroyed) socket.resetAndDestroy();
      log('refused', flags, via, { sent: 0, received: 0 }, error);
    };

    switch (d.kind) {
      case 'deny':
        fail(DENY_FLAGS[d.reason] ?? 'DENY', undefined, 'deny', d.detail);
        return;
      case 'hbone':
      case 'waypoint':
        await this.tunnel(socket, src, d, hooks, labels, log, fail);
        return;
      case 'passthrough':
        await this.passthrough(socket, d, hooks, labels, log, fail);
        return;
      default: {
        const never: never = d;
        throw new Error(`unknown decision ${JSON.stringify(never)}`);
      }
    }
  }

  private idleTimeout(d: OutboundDecision): number | undefined {
    const svc = d.kind !== 'deny' ? d.target.service : undefined;
    const snap = this.o.snapshots.get();
    const fromPolicy = svc
      ? snap?.trafficByService.get(`${svc.namespace}/${svc.name}`)?.idleTimeoutMs
      : undefined;
    return fromPolicy ?? this.o.idleTimeoutMs;
  }

  private async tunnel(
    socket: Socket,
    src: { ip: string; port: number },
    d: Extract<OutboundDecision, { kind: 'hbone' | 'waypoint' }>,
    hooks: OutboundHooks,
    labels: Labels,
    log: LogAccess,
    fail: Refuse,
  ): Promise<void> {
    const via = `${d.kind === 'waypoint' ? 'waypoint ' : ''}${formatAuthority(d.gateway.ip, d.gateway.port)}`;
    const endpoint = d.lb?.endpoint;
    // A captured connection (no SOCKS5 reply to send) starts forwarding right behind the
    // CONNECT: the client's first bytes ride with the HEADERS instead of waiting a round trip
    // for the 200. A SOCKS5 client must hear "connected" only after the 200.
    const early = !hooks.ready && !hooks.refused;
    let opened;
    if (endpoint) this.o.lb.opened(endpoint);
    const failed = (err: unknown) => {
      if (endpoint) this.o.lb.closed(endpoint);
      const e = err as Error;
      if (e instanceof HboneTunnelError) {
        const flags: ResponseFlag =
          e.failure === 'TLS_FAILURE' ? 'TLS_FAILURE' : e.status === 401 ? 'DENY' : 'CONNECT';
        fail(flags, via, e.status === 401 ? 'deny' : 'unreachable', e.message);
      } else fail('CONNECT', via, 'unreachable', e.message);
    };
    try {
      const tlsMaterial = await this.o.certificates.get(d.source.identity);
      opened = await this.o.pool.openEarly({
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
      });
      if (!early) await opened.response;
    } catch (err) {
      failed(err);
      return;
    }
    const { stream, response } = opened;
    if (socket.destroyed) {
      stream.close();
      if (endpoint) this.o.lb.closed(endpoint);
      return;
    }
    if (!early) {
      hooks.ready?.();
      await this.carry(socket, stream, d, via, labels, log);
      if (endpoint) this.o.lb.closed(endpoint);
      return;
    }
    // Early: a refusal must reset the client before the stream's end could reach it as a FIN,
    // so this listener runs synchronously inside the 'response' event.
    let refused = false;
    stream.once('response', (h) => {
      if (Number(h[':status']) !== 200) {
        refused = true;
        socket.resetAndDestroy();
      }
    });
    const idle = this.idleTimeout(d);
    const splicing = splice(socket, stream, idle ? { idleTimeoutMs: idle } : {});
    try {
      await response;
    } catch (err) {
      if (!refused) socket.resetAndDestroy();
      await splicing;
      failed(err);
      return;
    }
    await this.carry(socket, stream, d, via, labels, log, splicing);
    if (endpoint) this.o.lb.closed(endpoint);
  }

  private async passthrough(
    socket: Socket,
    d: Extract<OutboundDecision, { kind: 'passthrough' }>,
    hooks: OutboundHooks,
    labels: Labels,
    log: LogAccess,
    fail: Refuse,
  ): Promise<void> {
    const via = formatAuthority(d.address.ip, d.address.port);
    const endpoint = d.lb?.endpoint;
    if (endpoint) this.o.lb.opened(endpoint);
    let upstream;
    try {
      upstream = await connectUpstream(d.address);
    } catch (err) {
      if (endpoint) this.o.lb.closed(endpoint);
      fail('CONNECT', via, 'unreachable', (err as Error).message);
      return;
    }
    if (socket.destroyed) {
      upstream.destroy();
      if (endpoint) this.o.lb.closed(endpoint);
      return;
    }
    hooks.ready?.();
    await this.carry(socket, upstream, d, via, labels, log);
    if (endpoint) this.o.lb.closed(endpoint);
  }

  private async carry(
    socket: Socket,
    upstream: Parameters<typeof splice>[1],
    d: OutboundDecision,
    via: string,
    labels: Labels,
    log: LogAccess,
    started?: Promise<SpliceResult>,
  ): Promise<void> {
    this.o.metrics.connectionOpened(labels('-'));
    this.o.metrics.openTunnels.inc({ direction: 'outbound' });
    const idle = this.idleTimeout(d);
    const r: SpliceResult = await (started ?? splice(socket, upstream, idle ? { idleTimeoutMs: idle } : {}));
    this.o.metrics.openTunnels.dec({ direction: 'outbound' });
    const flags: ResponseFlag = r.outcome === 'idle-timeout' ? 'IDLE_TIMEOUT' : '-';
    this.o.metrics.connectionClosed(labels(flags), r.received, r.sent);
    log(r.outcome === 'eof' ? 'ok' : r.outcome, flags, via, r, r.error?.message);
  }
}

export function normalize(a: string | undefined): string {
  return (a ?? '').startsWith('::ffff:') ? a!.slice(7) : (a ?? '');
}
