// The fault suites' load generator, run inside a pod (its netns and cgroup, so the kernel captures
// every connection into the mesh) against a pod's TCP echo (9000). It keeps long-lived connections
// streaming, opens short ones at a fixed rate, or runs one bulk transfer whose reader pauses; every
// echoed byte is compared with what was sent (fault-pattern.ts) and each connection ends with one
// outcome (ok, refused, reset, hung, lost). Prints one JSON line (FaultLoadResult) and exits.
// Bundled by fault-load.ts with esbuild (test/ is not compiled into dist/).
// Usage: node fault-load-client.mjs '<FaultLoadSpec JSON>'   (SIGTERM: stop early, drain, report)
import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';
import { matchingPrefix, patternSlice } from './fault-pattern.js';
import type { ConnectionRecord, FaultLoadResult, FaultLoadSpec, Outcome } from './fault-load-spec.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as FaultLoadSpec;
const records: ConnectionRecord[] = [];
const open = new Set<Conn>();
let nextSeed = 1;
let stopping = false;
let bulkReport: FaultLoadResult['bulk'];

interface ConnOptions {
  kind: ConnectionRecord['kind'];
  /** total bytes to send; undefined = until told to finish */
  total?: number;
  chunk: number;
  window: number;
  /** ms between writes; 0 = write whenever the window allows */
  intervalMs: number;
  lifetimeMs: number;
  pause?: { every: number; ms: number };
  hashes?: { sent: Hash; echoed: Hash };
}

/** One echo connection: writes its stream, checks the echo, ends with one outcome. */
class Conn {
  readonly seed = nextSeed++;
  readonly startAt = Date.now();
  private readonly sock: net.Socket;
  private sent = 0;
  private echoed = 0;
  private corrupt = 0;
  private finSent = false;
  private connected = false;
  private lastProgress = Date.now();
  private paused = false;
  private pauses = 0;
  private pausedMs = 0;
  private nextPauseAt: number;
  private done = false;
  private writeTimer: NodeJS.Timeout | undefined;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(private readonly o: ConnOptions) {
    this.nextPauseAt = o.pause?.every ?? Infinity;
    this.sock = net.connect({ host: spec.host, port: spec.port, allowHalfOpen: true });
    this.connectTimer = setTimeout(() => this.end('refused', 'connect timeout'), spec.connectTimeoutMs);
    this.sock.on('connect', () => {
      this.connected = true;
      this.lastProgress = Date.now();
      this.pump();
    });
    this.sock.on('data', (c: Buffer) => this.onData(c));
    this.sock.on('end', () => this.onEnd());
    this.sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      if (!this.connected || this.echoed === 0) this.end('refused', code);
      else this.end('reset', code);
    });
    this.sock.on('close', () => this.end('reset', 'closed'));
    open.add(this);
  }

  /** Writes as the window and the interval allow; sends FIN when the stream is complete. */
  private pump(): void {
    if (this.done || this.finSent || !this.connected) return;
    const { total, chunk, window, intervalMs } = this.o;
    const lifetimeOver = this.o.lifetimeMs > 0 && Date.now() - this.startAt >= this.o.lifetimeMs;
    if ((total !== undefined && this.sent >= total) || lifetimeOver || stopping) {
      this.finSent = true;
      this.sock.end();
      return;
    }
    while (this.sent - this.echoed < window) {
      const n = Math.min(chunk, total === undefined ? chunk : total - this.sent);
      if (n <= 0) break;
      const data = patternSlice(this.seed, this.sent, n);
      this.o.hashes?.sent.update(data);
      this.sent += n;
      const more = this.sock.write(data);
      if (intervalMs > 0 || !more) break;
    }
    if (total !== undefined && this.sent >= total) {
      this.finSent = true;
      this.sock.end();
      return;
    }
    clearTimeout(this.writeTimer);
    this.writeTimer = setTimeout(() => this.pump(), intervalMs > 0 ? intervalMs : 5);
  }

  private onData(c: Buffer): void {
    clearTimeout(this.connectTimer);
    const good = matchingPrefix(this.seed, this.echoed, c);
    this.corrupt += c.length - good;
    this.o.hashes?.echoed.update(c);
    this.echoed += c.length;
    this.lastProgress = Date.now();
    if (this.o.pause && this.echoed >= this.nextPauseAt) {
      this.nextPauseAt += this.o.pause.every;
      this.paused = true;
      this.pauses++;
      this.sock.pause();
      const ms = this.o.pause.ms;
      setTimeout(() => {
        this.paused = false;
        this.pausedMs += ms;
        this.lastProgress = Date.now();
        this.sock.resume();
      }, ms);
    }
    if (this.o.intervalMs === 0) this.pump();
  }

  private onEnd(): void {
    if (!this.finSent) {
      // The mesh ended a stream we had not finished: the application sees it, like a reset.
      this.end(this.echoed === 0 ? 'refused' : 'reset', 'EOF before our FIN');
      return;
    }
    const whole = this.echoed === this.sent && this.corrupt === 0;
    this.end(whole ? 'ok' : 'lost', whole ? undefined : `EOF with ${this.sent - this.echoed} bytes missing`);
  }

  /** Called by the ticker: a hang is bytes outstanding and nothing back for stallMs. */
  tick(now: number): void {
    if (this.done) return;
    if (!this.paused && this.connected && this.sent > this.echoed && now - this.lastProgress > spec.stallMs) {
      this.end('hung', `nothing back for ${spec.stallMs} ms with ${this.sent - this.echoed} bytes out`);
      return;
    }
    const lifetimeOver = this.o.lifetimeMs > 0 && now - this.startAt >= this.o.lifetimeMs;
    if (this.connected && !this.finSent && (stopping || lifetimeOver)) {
      this.finSent = true;
      clearTimeout(this.writeTimer);
      this.sock.end();
    }
  }

  end(outcome: Outcome, error: string | undefined): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.writeTimer);
    open.delete(this);
    if (outcome !== 'ok') this.sock.destroy();
    else this.sock.end();
    records.push({
      kind: this.o.kind,
      startAt: this.startAt,
      endAt: Date.now(),
      outcome,
      sent: this.sent,
      echoed: this.echoed,
      corrupt: this.corrupt,
      ...(error !== undefined ? { error } : {}),
    });
    if (this.o.hashes) {
      bulkReport = {
        sentSha256: this.o.hashes.sent.digest('hex'),
        echoedSha256: this.o.hashes.echoed.digest('hex'),
        pauses: this.pauses,
        pausedMs: this.pausedMs,
      };
    }
    if (!stopping) replace(this.o.kind, outcome !== 'ok');
  }

  get kind(): ConnectionRecord['kind'] {
    return this.o.kind;
  }
}

function openLong(): void {
  const l = spec.long;
  if (!l) return;
  new Conn({
    kind: 'long',
    chunk: l.chunk,
    window: l.window,
    intervalMs: l.intervalMs,
    lifetimeMs: l.lifetimeMs,
  });
}

function openShort(): void {
  const s = spec.short;
  if (!s) return;
  new Conn({ kind: 'short', total: s.bytes, chunk: s.bytes, window: s.bytes, intervalMs: 0, lifetimeMs: 0 });
}

function openBulk(): void {
  const b = spec.bulk;
  if (!b) return;
  new Conn({
    kind: 'bulk',
    total: b.bytes,
    chunk: b.chunk,
    window: b.window,
    intervalMs: 0,
    lifetimeMs: 0,
    pause: { every: b.pauseEvery, ms: b.pauseMs },
    hashes: { sent: createHash('sha256'), echoed: createHash('sha256') },
  });
}

/**
 * Keeps `long.count` long connections open: a finished one is replaced at once, a failed one after
 * 100 ms (an application's reconnect delay; at once would count thousands of refusals a second
 * while nothing listens).
 */
function replace(kind: ConnectionRecord['kind'], failed: boolean): void {
  if (kind !== 'long') return;
  if (failed) setTimeout(() => !stopping && openLong(), 100);
  else openLong();
}

const started = Date.now();
let shortCredit = 0;
const ticker = setInterval(() => {
  const now = Date.now();
  for (const c of [...open]) c.tick(now);
  if (!stopping && now - started >= spec.durationMs && !spec.bulk) stop();
  if (!stopping && spec.short) {
    shortCredit += (spec.short.perSecond * 50) / 1000;
    while (shortCredit >= 1) {
      shortCredit -= 1;
      openShort();
    }
  }
  if (stopping && open.size === 0) report();
}, 50);

function stop(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    for (const c of [...open])
      c.end(c.kind === 'bulk' ? 'hung' : 'reset', `still open ${spec.drainMs} ms after stop`);
  }, spec.drainMs).unref();
}

function report(): void {
  clearInterval(ticker);
  const result: FaultLoadResult = { connections: records, ...(bulkReport ? { bulk: bulkReport } : {}) };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

process.on('SIGTERM', stop);
for (let i = 0; i < (spec.long?.count ?? 0); i++) openLong();
if (spec.bulk) {
  openBulk();
  // the bulk connection alone: stop once it has ended
  const watch = setInterval(() => {
    if (open.size === 0) {
      clearInterval(watch);
      stop();
    }
  }, 50);
}
