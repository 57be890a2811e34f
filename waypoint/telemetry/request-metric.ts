// The per-request Counter and Histograms behind Istio's four request metrics, kept the cheap
// way: a label set's child is a plain record (a count, or bucket counts, sum and count) updated
// in place, found once per label set by the caller (waypoint-metrics.ts caches it). prom-client's
// own labelled inc/observe validated, hashed and looked up the 25 labels on every call (~35 µs a
// request, three histograms and a counter). They are prom-client metrics still, registered on the
// Registry and exported in exactly its text format (get/getForPromString are what it reads), so
// names, labels, buckets and the exposition are unchanged. Names no metric of its own.
import { Counter, Histogram } from 'prom-client';

type Labels<T extends string> = Partial<Record<T, string | number>>;

interface CounterChild<T extends string> {
  labels: Labels<T>;
  value: number;
}

/** A counter whose children are counted in place; export as prom-client's Counter. */
export class RequestCounter<T extends string> extends Counter<T> {
  private readonly kids = new Map<string, CounterChild<T>>();

  /** The child of one label set (`key` identifies it); `inc` on it is a field update. */
  childOf(key: string, labels: Labels<T>): { inc(v?: number): void } {
    let c = this.kids.get(key);
    if (!c) {
      c = { labels, value: 0 };
      this.kids.set(key, c);
    }
    const child = c;
    return {
      inc: (v = 1) => {
        child.value += v;
      },
    };
  }

  override async get(): ReturnType<Counter<T>['get']> {
    const shell = await super.get(); // name, help, type, aggregator; no values of its own
    return { ...shell, values: [...this.kids.values()].map((c) => ({ labels: c.labels, value: c.value })) };
  }
}

interface HistogramChild<T extends string> {
  labels: Labels<T>;
  /** Observations per bucket (not cumulative), index of the first bound >= value. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** A histogram whose children are bucket arrays updated in place; exports as prom-client's. */
export class RequestHistogram<T extends string> extends Histogram<T> {
  private readonly kids = new Map<string, HistogramChild<T>>();
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(config: ConstructorParameters<typeof Histogram<T>>[0] & { buckets: number[] }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  /** The child of one label set (`key` identifies it); `observe` on it is a short scan. */
  childOf(key: string, labels: Labels<T>): { observe(v: number): void } {
    let c = this.kids.get(key);
    if (!c) {
      c = { labels, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.kids.set(key, c);
    }
    const child = c;
    const bounds = this.bounds;
    return {
      observe: (v: number) => {
        if (!Number.isFinite(v)) return;
        child.sum += v;
        child.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (v <= (bounds[i] ?? Infinity)) {
            child.counts[i] = (child.counts[i] ?? 0) + 1;
            return;
          }
        }
      },
    };
  }

  /**
   * The values as the Registry formats them (bucket lines carry the label set as shared labels);
   * prom-client's Histogram.get() splays these into plain label sets.
   */
  getForPromString(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: ExportValue[];
    aggregator: 'sum';
  }> {
    const values: ExportValue[] = [];
    const name = this.metricName;
    const bucket = `${name}_bucket`;
    for (const c of this.kids.values()) {
      const shared = c.labels as Record<string, string | number>;
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += c.counts[i] ?? 0;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: c.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: shared, value: c.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: c.count, metricName: `${name}_count` });
    }
    return Promise.resolve({ name, help: this.metricHelp, type: 'histogram', values, aggregator: 'sum' });
  }
}
