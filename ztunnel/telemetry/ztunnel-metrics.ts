// The ztunnel's Prometheus metrics on a private Registry (no default nodejs_* collectors:
// promtool flags them): Istio's four TCP metrics with Istio ztunnel's labels, plus ambit_*
// operational gauges and counters. Only this file names metrics.
import { Counter, Gauge, Registry } from 'prom-client';
import { TCP_LABEL_NAMES, type TcpLabels } from './tcp-labels.js';

export class ZtunnelMetrics {
  readonly registry = new Registry();
  readonly opened: Counter<string>;
  readonly closed: Counter<string>;
  readonly sentBytes: Counter<string>;
  readonly receivedBytes: Counter<string>;
  readonly openTunnels: Gauge<string>;
  readonly poolConnections: Gauge<string>;
  readonly certExpiry: Gauge<string>;
  readonly decisions: Counter<string>;
  readonly snapshotVersion: Gauge<string>;

  constructor() {
    const r = [this.registry];
    const labelNames = [...TCP_LABEL_NAMES];
    this.opened = new Counter({
      name: 'istio_tcp_connections_opened_total',
      help: 'TCP connections opened',
      labelNames,
      registers: r,
    });
    this.closed = new Counter({
      name: 'istio_tcp_connections_closed_total',
      help: 'TCP connections closed',
      labelNames,
      registers: r,
    });
    this.sentBytes = new Counter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'Bytes sent during response of TCP connections',
      labelNames,
      registers: r,
    });
    this.receivedBytes = new Counter({
      name: 'istio_tcp_received_bytes_total',
      help: 'Bytes received during request of TCP connections',
      labelNames,
      registers: r,
    });
    this.openTunnels = new Gauge({
      name: 'ambit_ztunnel_open_connections',
      help: 'Connections currently proxied, by direction',
      labelNames: ['direction'],
      registers: r,
    });
    this.poolConnections = new Gauge({
      name: 'ambit_ztunnel_hbone_pool_connections',
      help: 'Outbound HBONE mTLS connections held in the pool',
      registers: r,
    });
    this.certExpiry = new Gauge({
      name: 'ambit_ztunnel_certificate_expiry_seconds',
      help: 'Seconds until each held certificate expires',
      labelNames: ['identity'],
      registers: r,
    });
    this.decisions = new Counter({
      name: 'ambit_ztunnel_decisions_total',
      help: 'Connection decisions, by path and result',
      labelNames: ['direction', 'decision', 'reason'],
      registers: r,
    });
    this.snapshotVersion = new Gauge({
      name: 'ambit_ztunnel_snapshot_updates',
      help: 'Mesh snapshots applied since start',
      registers: r,
    });
  }

  connectionOpened(l: TcpLabels): void {
    this.opened.inc(l);
  }

  connectionClosed(l: TcpLabels, received: number, sent: number): void {
    this.closed.inc(l);
    this.receivedBytes.inc(l, received);
    this.sentBytes.inc(l, sent);
  }
}
