// The ztunnel's Prometheus metrics on a private Registry (no default nodejs_* collectors:
// promtool flags them): Istio's four TCP metrics with Istio ztunnel's labels, plus ambit_*
// operational gauges and counters. Only this file names metrics.
import { Counter, Gauge, Registry } from 'prom-client';
import { TCP_LABEL_NAMES, type TcpLabels } from './tcp-labels.js';

interface TcpChildren {
  opened: { inc(v?: number): void };
  closed: { inc(v?: number): void };
  sent: { inc(v?: number): void };
  received: { inc(v?: number): void };
}

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
      // --workers: each worker holds its own copy; the soonest expiry is the one that matters
      aggregator: 'min',
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
      // --workers: every worker applies the same snapshots; report one worker's count, not the sum
      aggregator: 'max',
    });
  }

  /**
   * The four TCP counters' children for one label set, cached under a key joined in fixed order:
   * prom-client sorts and hashes 23 label names on every inc(labels), which showed up per
   * connection. Bounded: the cache starts over past 10,000 label sets.
   */
  private readonly children = new Map<string, TcpChildren>();

  private tcp(l: TcpLabels): TcpChildren {
    let key = '';
    for (const n of TCP_LABEL_NAMES) key += l[n] + '\u0001';
    let c = this.children.get(key);
    if (!c) {
      if (this.children.size >= 10_000) this.children.clear();
      c = {
        opened: this.opened.labels(l),
        closed: this.closed.labels(l),
        sent: this.sentBytes.labels(l),
        received: this.receivedBytes.labels(l),
      };
      this.children.set(key, c);
    }
    return c;
  }

  connectionOpened(l: TcpLabels): void {
    this.tcp(l).opened.inc();
  }

  connectionClosed(l: TcpLabels, received: number, sent: number): void {
    const c = this.tcp(l);
    c.closed.inc();
    c.received.inc(received);
    c.sent.inc(sent);
  }
}
