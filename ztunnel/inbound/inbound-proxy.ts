// Carries inbound decisions out: for each HBONE CONNECT stream (15008) or captured plaintext
// connection (15006), asks decideInbound(), answers the status (401 denied, 503 unreachable),
// dials the pod from the mesh address, answers 200 once it is up, splices, and reports
// telemetry and one access-log line.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decideInbound, type InboundDecision, type InboundFacts } from './decide-inbound.js';
import { splice } from '../hbone/splice.js';
import { connectUpstream } from '../net/upstream-connect.js';
import { formatAuthority } from '../hbone/hbone-headers.js';
import type { HbonePeer } from '../hbone/hbone-server.js';
import type { SnapshotWatch } from '../state/snapshot-watch.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import type { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';
import { tcpLabels, type ResponseFlag } from '../telemetry/tcp-labels.js';
import { logAccess } from '../telemetry/access-log.js';
import type { OriginalDestinationResolver } from '../outbound/original-destination.js';

export interface InboundProxyOptions {
  node: string;
  meshAddress: string;
  snapshots: SnapshotWatch<ZtunnelSnapshot>;
  metrics: ZtunnelMetrics;
  logger: Logger;
  idleTimeoutMs?: number;
  upstreamConnectTimeoutMs?: number;
}

export class InboundProxy {
  constructor(private readonly o: InboundProxyOptions) {}

  handleTunnel(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer: HbonePeer): void {
    const forwarded = headers.forwarded;
    const facts: InboundFacts = {
      node: this.o.node,
      transport: 'hbone',
      method: headers[':method'],
      authority: headers[':authority'],
      peerPrincipal: peer.principal,
      peerAddress: peer.address,
      ...(typeof forwarded === 'string' ? { forwarded } : {}),
    };
    const respond = (status: number) => {
      if (!stream.closed && !stream.headersSent)
        stream.respond({ ':status': status }, { endStream: status !== 200 });
    };
    void this.run(facts, stream, respond, peer.principal);
  }

  handlePlaintext(socket: Socket, resolver: OriginalDestinationResolver): void {
    const src = { ip: normalize(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const orig = resolver.resolve({ sourceIp: src.ip, sourcePort: src.port });
    if (!orig) {
      this.o.metrics.decisions.inc({
        direction: 'inbound-plaintext',
        decision: 'reject',
        reason: 'no-original-destination',
      });
      this.o.logger.warn({ src }, 'inbound plaintext connection without an original destination; closing');
      socket.destroy();
      return;
    }
    const facts: InboundFacts = {
      node: this.o.node,
      transport: 'plaintext',
      authority: formatAuthority(orig.ip, orig.port),
      peerAddress: src.ip,
    };
    void this.run(
      facts,
      socket,
      (status) => (status === 200 ? undefined : socket.resetAndDestroy()),
      undefined,
    );
  }

  private async run(
    facts: InboundFacts,
    client: ServerHttp2Stream | Socket,
    respond: (status: number) => void,
    peerPrincipal: string | undefined,
  ): Promise<void> {
    const started = Date.now();
    const direction = facts.transport === 'hbone' ? 'inbound' : 'inbound-plaintext';
    const snap = this.o.snapshots.get();
    if (!snap) {
      respond(503);
      return;
    }
    const d: InboundDecision = decideInbound(snap, facts);
    this.o.metrics.decisions.inc({
      direction,
      decision: d.kind,
      reason: d.kind === 'reject' ? d.reason : '-',
    });
    const labels = (flags: ResponseFlag) =>
      tcpLabels({
        reporter: 'destination',
        ...(d.sourceWorkload ? { source: d.sourceWorkload } : {}),
        ...(peerPrincipal ? { sourcePrincipal: peerPrincipal } : {}),
        ...(d.destination
          ? { destination: d.destination, destinationPrincipal: d.destination.identity }
          : {}),
        ...(d.service ? { service: d.service } : {}),
        ...(d.address && !d.destination
          ? { destinationAddress: formatAuthority(d.address.ip, d.address.port) }
          : {}),
        responseFlags: flags,
        mtls: facts.transport === 'hbone',
      });
    const log = (result: string, flags: string, bytes: { sent: number; received: number }, error?: string) =>
      logAccess(this.o.logger, {
        direction,
        src: {
          ip: d.sourceIp,
          ...(d.sourceWorkload ? { workload: `${d.sourceWorkload.namespace}/${d.sourceWorkload.name}` } : {}),
          ...(peerPrincipal ? { identity: peerPrincipal } : {}),
        },
        dst: {
          ...(d.address ? { ip: d.address.ip, port: d.address.port } : {}),
          ...(d.destination
            ? {
                workload: `${d.destination.namespace}/${d.destination.name}`,
                identity: d.destination.identity,
              }
            : {}),
          ...(d.service ? { service: d.service.hostname } : {}),
        },
        ...(facts.authority ? { originalDestination: facts.authority } : {}),
        decision: d.kind === 'forward' ? 'forward' : `reject:${d.reason}`,
        result,
        responseFlags: flags,
        ...(d.policy ? { policy: d.policy } : {}),
        bytesSent: bytes.sent,
        bytesReceived: bytes.received,
        durationMs: Date.now() - started,
        ...(error ? { error } : {}),
      });

    if (d.kind === 'reject') {
      const flags: ResponseFlag = d.status === 401 ? 'DENY' : 'CONNECT';
      const l = labels(flags);
      this.o.metrics.connectionOpened(l);
      this.o.metrics.connectionClosed(l, 0, 0);
      respond(d.status);
      log(String(d.status), flags, { sent: 0, received: 0 }, d.detail);
      return;
    }
    const abort = new AbortController();
    const onGone = () => abort.abort();
    client.once('close', onGone);
    let upstream: Socket;
    try {
      upstream = await connectUpstream(d.address, {
        localAddress: this.o.meshAddress,
        signal: abort.signal,
        ...(this.o.upstreamConnectTimeoutMs ? { timeoutMs: this.o.upstreamConnectTimeoutMs } : {}),
      });
    } catch (err) {
      client.off('close', onGone);
      const l = labels('CONNECT');
      this.o.metrics.connectionOpened(l);
      this.o.metrics.connectionClosed(l, 0, 0);
      respond(503);
      log('503', 'CONNECT', { sent: 0, received: 0 }, (err as Error).message);
      return;
    }
    client.off('close', onGone);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    respond(200);
    const l = labels('-');
    this.o.metrics.connectionOpened(l);
    this.o.metrics.openTunnels.inc({ direction });
    const r = await splice(
      client,
      upstream,
      this.o.idleTimeoutMs ? { idleTimeoutMs: this.o.idleTimeoutMs } : {},
    );
    this.o.metrics.openTunnels.dec({ direction });
    const flags = r.outcome === 'idle-timeout' ? 'IDLE_TIMEOUT' : '-';
    this.o.metrics.connectionClosed(labels(flags), r.received, r.sent);
    log(r.outcome === 'eof' ? '200' : `200:${r.outcome}`, flags, r, r.error?.message);
  }
}

function normalize(a: string | undefined): string {
  return (a ?? '').startsWith('::ffff:') ? a!.slice(7) : (a ?? '');
}
