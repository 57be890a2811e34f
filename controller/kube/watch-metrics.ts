// The ambit_controller_watch_* metrics: per watched kind, events by type, restarts by reason,
// relists by reason, objects cached, the time of the last event (a bookmark counts: it proves the
// watch alive) and what periodic relists found out of step. Registered on the controller's
// registry (--metrics-listen); one instance shared by every kind's reflector.
import { Counter, Gauge, type Registry } from 'prom-client';

export class WatchMetrics {
  readonly events: Counter<'kind' | 'type'>;
  readonly restarts: Counter<'kind' | 'reason'>;
  readonly relists: Counter<'kind' | 'reason'>;
  readonly objects: Gauge<'kind'>;
  readonly lastEvent: Gauge<'kind'>;
  readonly drift: Counter<'kind' | 'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({
      name: 'ambit_controller_watch_events_total',
      help: 'Watch events received, by kind and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)',
      labelNames: ['kind', 'type'],
      registers,
    });
    this.restarts = new Counter({
      name: 'ambit_controller_watch_restarts_total',
      help: 'List/watch restarts after a failure or a stall, by kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.relists = new Counter({
      name: 'ambit_controller_watch_relists_total',
      help: 'Full (paginated) lists, by kind and reason (initial, expired, silent, periodic, error)',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.objects = new Gauge({
      name: 'ambit_controller_watch_objects',
      help: 'Objects of each kind in the store cache',
      labelNames: ['kind'],
      registers,
    });
    this.lastEvent = new Gauge({
      name: 'ambit_controller_watch_last_event_timestamp_seconds',
      help: 'Unix time of the last watch event or bookmark of each kind',
      labelNames: ['kind'],
      registers,
    });
    this.drift = new Counter({
      name: 'ambit_controller_watch_relist_drift_total',
      help: 'Objects a relist found out of step with the cache (a missed ADDED, MODIFIED or DELETED), by kind and type',
      labelNames: ['kind', 'type'],
      registers,
    });
  }
}
