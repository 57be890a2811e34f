// The life of one proxied unit (a ztunnel TCP connection, a waypoint request) from its decision to
// its end: it holds the leases taken for it, counts it opened once, and at the end reports it once
// and gives every lease back exactly once, however many paths try to end it. It knows no sockets,
// metric names or log fields: the component supplies those through ProxyLifecycleOptions.

/** Something taken for one connection or request and given back when it ends (a load-balancer slot). */
export interface Lease {
  release(): void;
}

/** How a connection or request ended; a component adds its own fields (bytes, response code, ...). */
export interface ProxyEnd<Flag extends string> {
  /** The response flags of the end (Istio's `-` when it ended normally). */
  flags: Flag;
}

/** Where a lifecycle counts: the component's metrics, named by the component. */
export interface ProxyMetricsSink<Labels, End> {
  /** Counts one unit opened (when it starts carrying traffic, or when it is refused). */
  opened(labels: Labels): void;
  /** Counts one unit closed, with what the end carried (bytes, response code). */
  closed(labels: Labels, end: End): void;
  /** The in-flight gauge: +1 when traffic starts to flow, -1 when such a unit ends. */
  inFlight(delta: 1 | -1): void;
}

export interface ProxyLifecycleOptions<Flag extends string, Labels, End extends ProxyEnd<Flag>> {
  /** The unit's labels with the given flags, built from its decision once. */
  labels: (flags: Flag) => Labels;
  /** The flags of a unit that is carrying traffic (counted opened by open()). */
  flowingFlags: Flag;
  metrics: ProxyMetricsSink<Labels, End>;
  /** Writes the unit's one access-log line. */
  log: (end: End, durationMs: number) => void;
  /** When the unit started (default: now). */
  startedAt?: number;
  now?: () => number;
}

export type ProxyLifecycleState = 'pending' | 'open' | 'closed';

export class ProxyLifecycle<Flag extends string, Labels, End extends ProxyEnd<Flag>> {
  private current: ProxyLifecycleState = 'pending';
  private readonly leases: Lease[] = [];
  /** The labels open() built, reused by a close with the flowing flags (most ends): built once. */
  private flowingLabels: Labels | undefined;
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(private readonly o: ProxyLifecycleOptions<Flag, Labels, End>) {
    this.now = o.now ?? Date.now;
    this.startedAt = o.startedAt ?? this.now();
  }

  get state(): ProxyLifecycleState {
    return this.current;
  }

  /** Holds a lease until the end; a lease taken after the end is given back at once. */
  hold(lease: Lease): void {
    if (this.current === 'closed') lease.release();
    else this.leases.push(lease);
  }

  /** Traffic starts to flow: counted opened with the flowing flags. Only the first call counts. */
  open(): void {
    if (this.current !== 'pending') return;
    this.current = 'open';
    this.flowingLabels = this.o.labels(this.o.flowingFlags);
    this.o.metrics.opened(this.flowingLabels);
    this.o.metrics.inFlight(1);
  }

  /**
   * Ends the unit: gives the leases back, counts it closed (and opened too when it never carried
   * traffic: a refusal), and writes its access-log line. Returns false, doing nothing, once ended.
   */
  close(end: End): boolean {
    const was = this.current;
    if (was === 'closed') return false;
    this.current = 'closed';
    this.releaseAll();
    const labels =
      end.flags === this.o.flowingFlags && this.flowingLabels !== undefined
        ? this.flowingLabels
        : this.o.labels(end.flags);
    if (was === 'pending') this.o.metrics.opened(labels);
    else this.o.metrics.inFlight(-1);
    this.o.metrics.closed(labels, end);
    this.o.log(end, this.now() - this.startedAt);
    return true;
  }

  /**
   * Ends a unit whose client went away before it carried traffic: gives the leases back and reports
   * nothing. Returns false, doing nothing, once ended; an open unit must be closed, not discarded.
   */
  discard(): boolean {
    if (this.current !== 'pending') return false;
    this.current = 'closed';
    this.releaseAll();
    return true;
  }

  private releaseAll(): void {
    for (const lease of this.leases.splice(0)) lease.release();
  }
}
