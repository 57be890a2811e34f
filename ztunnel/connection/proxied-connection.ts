// One connection through the ztunnel, inbound or outbound, from its decision to its end: the
// ProxyLifecycle of core/proxy bound to the ztunnel's TCP metrics (Istio's four counters and the
// open-connections gauge) and its access-log line. The proxies build one from their decision and
// end it on whatever path the connection takes; it counts, logs and releases exactly once.
import type { Logger } from 'pino';
import { ProxyLifecycle, type Lease, type ProxyLifecycleState } from '../../core/proxy/proxy-lifecycle.js';
import { logAccess, type AccessLogEntry } from '../telemetry/access-log.js';
import { tcpLabels, type ResponseFlag, type TcpLabelInput, type TcpLabels } from '../telemetry/tcp-labels.js';
import type { ZtunnelMetrics } from '../telemetry/ztunnel-metrics.js';

/** How a connection ended. */
export interface ConnectionEnd {
  flags: ResponseFlag;
  /** The access log's `result`: `ok`, `reset`, `refused`, `401`, `200:idle-timeout`, ... */
  result: string;
  /** sent: server side back to the client; received: client towards the server. */
  bytes: { sent: number; received: number };
  /** Where the bytes went (outbound): the HBONE gateway, waypoint or passthrough address. */
  via?: string | undefined;
  error?: string | undefined;
}

/** The access-log fields fixed by the decision (the end adds the rest). */
export type ConnectionAccessFields = Pick<AccessLogEntry, 'direction' | 'src' | 'dst' | 'decision'> & {
  originalDestination?: string | undefined;
  policy?: string | undefined;
};

export interface ProxiedConnectionInit {
  metrics: ZtunnelMetrics;
  logger: Logger;
  /** The metric labels without the response flags, built from the decision once. */
  labels: Omit<TcpLabelInput, 'responseFlags'>;
  access: ConnectionAccessFields;
  startedAt?: number;
  now?: () => number;
}

export class ProxiedConnection {
  private readonly life: ProxyLifecycle<ResponseFlag, TcpLabels, ConnectionEnd>;

  constructor(init: ProxiedConnectionInit) {
    const { metrics, logger, labels, access } = init;
    const direction = { direction: access.direction };
    this.life = new ProxyLifecycle<ResponseFlag, TcpLabels, ConnectionEnd>({
      labels: (responseFlags) => tcpLabels({ ...labels, responseFlags }),
      flowingFlags: '-',
      metrics: {
        opened: (l) => metrics.connectionOpened(l),
        closed: (l, end) => metrics.connectionClosed(l, end.bytes.received, end.bytes.sent),
        inFlight: (delta) =>
          delta > 0 ? metrics.openTunnels.inc(direction) : metrics.openTunnels.dec(direction),
      },
      log: (end, durationMs) => logAccess(logger, accessEntry(access, end, durationMs)),
      ...(init.startedAt !== undefined ? { startedAt: init.startedAt } : {}),
      ...(init.now ? { now: init.now } : {}),
    });
  }

  get state(): ProxyLifecycleState {
    return this.life.state;
  }

  /** Holds a lease (a load-balancer slot) until the connection ends. */
  hold(lease: Lease): void {
    this.life.hold(lease);
  }

  /** Bytes start to flow: counted opened with response flags `-`, and in the open gauge. */
  open(): void {
    this.life.open();
  }

  /** Ends the connection: counts, logs and releases once; false if it had already ended. */
  close(end: ConnectionEnd): boolean {
    return this.life.close(end);
  }

  /** Ends a connection that carried no bytes: counted opened and closed with `flags`, and logged. */
  refuse(
    flags: ResponseFlag,
    result: string,
    detail: { via?: string | undefined; error?: string | undefined } = {},
  ): boolean {
    return this.life.close({ flags, result, bytes: { sent: 0, received: 0 }, ...detail });
  }

  /** The client went away before anything was carried: leases back, nothing counted or logged. */
  discard(): boolean {
    return this.life.discard();
  }
}

/** The access-log entry, its fields in the order the log has always had them. */
function accessEntry(a: ConnectionAccessFields, end: ConnectionEnd, durationMs: number): AccessLogEntry {
  return {
    direction: a.direction,
    src: a.src,
    dst: a.dst,
    ...(a.originalDestination ? { originalDestination: a.originalDestination } : {}),
    ...(end.via ? { via: end.via } : {}),
    decision: a.decision,
    result: end.result,
    responseFlags: end.flags,
    ...(a.policy ? { policy: a.policy } : {}),
    bytesSent: end.bytes.sent,
    bytesReceived: end.bytes.received,
    durationMs,
    ...(end.error ? { error: end.error } : {}),
  };
}
