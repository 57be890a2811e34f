// The ambit_ztunnel_* metrics of the listener limits, registered on the ztunnel's own registry:
// which limit refused what on which listener, descriptor exhaustion errors, TLS refusals by
// reason, and the descriptor limit the fd headroom works against.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LimitName, ListenerName } from './listener-limits.js';

export class LimitMetrics {
  readonly hits: Counter<'listener' | 'limit'>;
  readonly fdErrors: Counter<'where' | 'code'>;
  readonly tlsRefusals: Counter<'reason'>;

  constructor(registry: Registry, fdLimit: () => number) {
    const registers = [registry];
    this.hits = new Counter({
      name: 'ambit_ztunnel_limit_hits_total',
      help: 'Connections or streams refused or closed because a listener limit was hit, by listener and limit',
      labelNames: ['listener', 'limit'],
      registers,
    });
    this.fdErrors = new Counter({
      name: 'ambit_ztunnel_fd_errors_total',
      help: 'EMFILE/ENFILE (out of file descriptors) seen by a listener, by where and errno code',
      labelNames: ['where', 'code'],
      registers,
    });
    this.tlsRefusals = new Counter({
      name: 'ambit_ztunnel_tls_refusals_total',
      help: 'HBONE clients refused during or right after the TLS handshake, by reason',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'ambit_ztunnel_fd_limit',
      help: 'The soft RLIMIT_NOFILE the fd headroom is kept against',
      registers,
      // --workers: each worker has its own limit; the smallest is the one that bites first
      aggregator: 'min',
      collect() {
        const l = fdLimit();
        this.set(Number.isFinite(l) ? l : -1);
      },
    });
  }

  hit(listener: ListenerName, limit: LimitName): void {
    this.hits.inc({ listener, limit });
  }
}

/** errno codes that mean the process or the system ran out of file descriptors. */
export function isFdExhaustion(err: NodeJS.ErrnoException | undefined): boolean {
  return err?.code === 'EMFILE' || err?.code === 'ENFILE';
}
