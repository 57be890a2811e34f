// The load generator of bench/l7: HTTP/1.1 keep-alive GETs on raw sockets (one request in flight
// per connection, no pipelining), either open loop at a fixed rate (latency counted from when a
// request was due, so a stall shows as latency instead of a slower send rate) or closed loop on
// N connections (the maximum). Bounded in count and time. It dials through whatever Dialer the
// row uses (direct, nginx's port, the ztunnel's SOCKS5 door) and never parses bodies it skips.
import type net from 'node:net';
import type { Dialer } from '../l4/load.js';
import { HttpResponseReader, type ResponseHead } from './http-response-reader.js';

export interface HttpTarget {
  dialer: Dialer;
  /** What the dialer connects to (the SOCKS5 CONNECT target; a fixed dialer ignores it). */
  address: { ip: string; port: number };
  /** The Host header (the Service hostname on the mesh rows). */
  host: string;
  path: string;
}

export interface LoadResult {
  /** Requests due (fixed rate) or started (closed loop). */
  sent: number;
  /** 2xx responses. */
  ok: number;
  /** Non-2xx responses, by status. */
  statuses: Record<string, number>;
  /** Connection errors and responses that never came before the deadline. */
  failed: number;
  /** Completed responses per second of the run. */
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Wall time of the run, seconds. */
  seconds: number;
}

class LoadError extends Error {
  readonly code = 'BENCH_LOAD';
}

/** One keep-alive connection; request() resolves with the status when the whole response is in. */
class KeepAliveConnection {
  private waiting: { resolve: (h: ResponseHead) => void; reject: (e: Error) => void } | undefined;
  private dead: Error | undefined;
  private readonly reader = new HttpResponseReader((h) => {
    const w = this.waiting;
    this.waiting = undefined;
    if (h.close) this.fail(new LoadError('peer closed the keep-alive connection'));
    w?.resolve(h);
  });

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      try {
        this.reader.push(c);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    socket.on('error', (e) => this.fail(e));
    // the dialers allow half-open sockets (bench/l4 needs them): the peer's FIN is the end here
    socket.on('end', () => this.fail(new LoadError('peer closed the connection')));
    socket.on('close', () => this.fail(new LoadError('connection closed')));
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  request(wire: Buffer): Promise<ResponseHead> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting) return Promise.reject(new LoadError('request already in flight'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(wire);
    });
  }

  fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }
}

function requestWire(t: HttpTarget): Buffer {
  return Buffer.from(`GET ${t.path} HTTP/1.1\r\nHost: ${t.host}\r\nUser-Agent: ambit-bench-l7\r\n\r\n`);
}

async function connect(t: HttpTarget): Promise<KeepAliveConnection> {
  return new KeepAliveConnection(await t.dialer.dial(t.address));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tallies one run's answers and latencies. */
class Tally {
  readonly samples: number[] = [];
  readonly statuses: Record<string, number> = {};
  ok = 0;
  failed = 0;
  /** When the last answer came (nowMs). */
  last = 0;

  answer(status: number, latencyMs: number): void {
    this.last = nowMs();
    this.samples.push(latencyMs);
    if (status >= 200 && status < 300) this.ok++;
    else this.statuses[String(status)] = (this.statuses[String(status)] ?? 0) + 1;
  }

  result(sent: number, seconds: number): LoadResult {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return {
      sent,
      ok: this.ok,
      statuses: this.statuses,
      failed: this.failed,
      rps: this.samples.length / seconds,
      p50ms: percentile(sorted, 50),
      p99ms: percentile(sorted, 99),
      seconds,
    };
  }
}

/** Connections for an open-loop rate: about one per 100 req/s, 4 to 64 (wrk2-like: fixed). */
export function poolSizeFor(rate: number): number {
  return Math.min(64, Math.max(4, Math.ceil(rate / 100)));
}

/**
 * Open loop: `rate` requests per second for `seconds` on a fixed pool of keep-alive connections
 * opened before the clock starts (default poolSizeFor(rate)). A request due while every
 * connection is busy waits for the next free one, and its wait counts as latency. The pool does
 * not grow under load: opening connections in a burst through a proxy (SOCKS5 and an HBONE
 * stream per connection) stalls the proxy more and feeds back; new-connection cost is bench/l4's.
 * A connection that dies is replaced (at most pool size + request count times, so a peer that
 * closes every new connection cannot spin the generator). Requests unanswered
 * `drainMs` after the last one was due count as failed.
 */
export async function fixedRate(
  t: HttpTarget,
  o: { rate: number; seconds: number; connections?: number; drainMs?: number },
): Promise<LoadResult> {
  const wire = requestWire(t);
  const size = o.connections ?? poolSizeFor(o.rate);
  const total = Math.round(o.rate * o.seconds);
  const opened = await Promise.allSettled(Array.from({ length: size }, () => connect(t)));
  const all = new Set<KeepAliveConnection>();
  for (const r of opened) if (r.status === 'fulfilled') all.add(r.value);
  const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    for (const c of all) c.fail(new LoadError('pool not opened'));
    throw new LoadError(`could not open the connection pool: ${String(refused.reason)}`, {
      cause: refused.reason,
    });
  }
  const idle: KeepAliveConnection[] = [...all];
  let replacements = size + total;
  const queue: number[] = []; // due times of requests waiting for a connection
  const tally = new Tally();
  let done = 0;

  const run = (c: KeepAliveConnection, due: number): void => {
    c.request(wire).then(
      (h) => {
        tally.answer(h.status, nowMs() - due);
        done++;
        release(c);
      },
      () => {
        tally.failed++;
        done++;
        release(c);
      },
    );
  };
  /** A connection is free: it takes the oldest waiting request, or is replaced if it died. */
  const release = (c: KeepAliveConnection): void => {
    if (c.alive) {
      const due = queue.shift();
      if (due === undefined) idle.push(c);
      else run(c, due);
      return;
    }
    all.delete(c);
    if (replacements <= 0) return;
    replacements--;
    connect(t).then(
      (n) => {
        all.add(n);
        release(n);
      },
      () => {
        // no connection for the oldest waiting request: it fails, the rest keep waiting
        if (queue.shift() !== undefined) {
          tally.failed++;
          done++;
        }
      },
    );
  };

  const start = nowMs();
  let sent = 0;
  while (sent < total) {
    // request i is due at start + i/rate: by now, floor(elapsed * rate) + 1 of them are
    const due = Math.min(total, Math.floor(((nowMs() - start) * o.rate) / 1000) + 1);
    while (sent < due) {
      const dueAt = start + (sent * 1000) / o.rate;
      sent++;
      let c = idle.pop();
      // one that died idle (the peer closed it) is replaced, not used
      while (c && !c.alive) {
        release(c);
        c = idle.pop();
      }
      if (c) run(c, dueAt);
      else queue.push(dueAt);
    }
    await sleep(1);
  }
  const lastSent = nowMs();
  const deadline = lastSent + (o.drainMs ?? 5_000);
  while (done < total && nowMs() < deadline) await sleep(5);
  tally.failed += total - done;
  // from the first request due to the last answer: what the path sustained
  const seconds = (Math.max(lastSent, tally.last) - start) / 1000;
  for (const c of all) c.fail(new LoadError('run over'));
  return tally.result(sent, seconds);
}

/**
 * Closed loop: `connections` keep-alive connections each sending the next request as soon as the
 * last answer is in, for `seconds`. A connection that fails is replaced (at most `connections`
 * replacements in all, so a dead path ends the run instead of spinning).
 */
export async function maxThroughput(
  t: HttpTarget,
  o: { connections: number; seconds: number },
): Promise<LoadResult> {
  const wire = requestWire(t);
  const tally = new Tally();
  let sent = 0;
  let replacements = o.connections;
  const start = nowMs();
  const end = start + o.seconds * 1000;
  const open = new Set<KeepAliveConnection>();
  const loop = async (): Promise<void> => {
    let c: KeepAliveConnection | undefined;
    while (nowMs() < end) {
      if (!c || !c.alive) {
        if (c) {
          open.delete(c);
          if (replacements-- <= 0) return;
        }
        try {
          c = await connect(t);
          open.add(c);
        } catch {
          tally.failed++;
          c = undefined;
          if (replacements-- <= 0) return;
          continue;
        }
      }
      const t0 = nowMs();
      sent++;
      try {
        const h = await c.request(wire);
        tally.answer(h.status, nowMs() - t0);
      } catch {
        tally.failed++;
      }
    }
  };
  // Bounded even if a response never comes: the run ends at its deadline plus a grace period.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((r) => (timer = setTimeout(r, o.seconds * 1000 + 5_000)));
  await Promise.race([Promise.all(Array.from({ length: o.connections }, loop)), deadline]);
  clearTimeout(timer);
  const seconds = (nowMs() - start) / 1000;
  for (const c of open) c.fail(new LoadError('run over'));
  return tally.result(sent, seconds);
}
