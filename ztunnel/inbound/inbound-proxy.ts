// Carries inbound decisions out: for each HBONE CONNECT stream (15008) or captured plaintext
// connection (15006), asks decideInbound(), answers the status (401 denied, 503 unreachable),
// dials the pod from the mesh address, answers 200 once it is up, and splices. Each connection's
// labels, access-log line and metrics belong to one ProxiedConnection, ended once on whatever path.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { isIP, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { decideInbound, type InboundDecision, type InboundFacts } from './decide-inbound.js';
import { splice } from '../hbone/splice.js';
import { connectUpstream } from '../net/upstream-connect.js';
import { resetOnProcessDeath } from '../net/abortive-close.js';
import { normalizeAddress } from '../net/peer-address.js';
import { formatAuthority } from '../hbone/hbone-headers.js';
import type { HbonePeer } from '../hbone/hbone-server.js';
import type { SnapshotWatch } from '../state/snapshot-watch.js';
import type { ZtunnelSnapshot } from '../state/ztunnel-snapshot.js';
import type { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';
import { ProxiedConnection } from '../connection/proxied-connection.js';
import { RESPONSE_FLAGS } from '../connection/refusal-reasons.js';
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
    const method = headers[':method'];
    const facts: InboundFacts = {
      node: this.o.node,
      transport: 'hbone',
      ...(method !== undefined ? { method } : {}),
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
    // captured plaintext (15006, in-pod listeners): a SIGKILLed ztunnel resets it, never a bare FIN
    // that a half-closed client would read as a complete reply (the splice turns it off to end)
    resetOnProcessDeath(socket);
    const src = { ip: normalizeAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
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
    const startedAt = Date.now();
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
    const conn = this.connection(d, facts, direction, peerPrincipal, startedAt);

    if (d.kind === 'reject') {
      respond(d.status);
      conn.refuse(RESPONSE_FLAGS[d.reason], String(d.status), { error: d.detail });
      return;
    }
    const abort = new AbortController();
    const onGone = () => abort.abort();
    client.once('close', onGone);
    let upstream: Socket;
    try {
      upstream = await connectUpstream(d.address, {
        // The mesh address is IPv4: an IPv6 pod address is dialled from the node's own IPv6
        // address (a node address, which STRICT admits as it admits probes).
        ...(isIP(d.address.ip) === isIP(this.o.meshAddress) ? { localAddress: this.o.meshAddress } : {}),
        signal: abort.signal,
        ...(this.o.upstreamConnectTimeoutMs ? { timeoutMs: this.o.upstreamConnectTimeoutMs } : {}),
      });
    } catch (err) {
      client.off('close', onGone);
      respond(503);
      conn.refuse(RESPONSE_FLAGS['upstream-connect'], '503', { error: (err as Error).message });
      return;
    }
    client.off('close', onGone);
    if (client.destroyed) {
      upstream.destroy();
      conn.discard();
      return;
    }
    respond(200);
    conn.open();
    const r = await splice(
      client,
      upstream,
      this.o.idleTimeoutMs ? { idleTimeoutMs: this.o.idleTimeoutMs } : {},
    );
    conn.close({
      flags: r.outcome === 'idle-timeout' ? 'IDLE_TIMEOUT' : '-',
      result: r.outcome === 'eof' ? '200' : `200:${r.outcome}`,
      bytes: r,
      error: r.error?.message,
    });
  }

  /** The connection's lifecycle, its labels and access-log fields taken from the decision once. */
  private connection(
    d: InboundDecision,
    facts: InboundFacts,
    direction: 'inbound' | 'inbound-plaintext',
    peerPrincipal: string | undefined,
    startedAt: number,
  ): ProxiedConnection {
    return new ProxiedConnection({
      metrics: this.o.metrics,
      logger: this.o.logger,
      startedAt,
      labels: {
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
        mtls: facts.transport === 'hbone',
      },
      access: {
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
        originalDestination: facts.authority,
        decision: d.kind === 'forward' ? 'forward' : `reject:${d.reason}`,
        policy: d.policy,
      },
    });
  }
}
