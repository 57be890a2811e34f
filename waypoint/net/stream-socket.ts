// A plain JS Duplex around an HBONE tunnel stream (an HTTP/2 stream), shaped enough like a
// net.Socket for node:http and node:http2 to run HTTP over it. node:http must not see the h2
// stream itself: it takes the stream's native handle for a fast header write and corrupts the
// response head (seen on Node 20: garbage before "Date:"). Carries the tunnel's context for the
// request path to read back. Per chunk it does as little as it can: writes queued while corked go
// out as one (node:http's head and body become one DATA frame), and the idle timeout is a
// timestamp checked by one timer rather than a timer reset per chunk.
import { Duplex } from 'node:stream';

export class StreamSocket<Ctx> extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;
  /** The far end closed (END_STREAM arrived), whether or not anyone has read up to it yet. */
  peerEnded = false;

  constructor(
    private readonly inner: Duplex,
    readonly context: Ctx,
    peer: { address: string; port: number },
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = peer.address;
    this.remotePort = peer.port;
    inner.on('data', (c: Buffer) => {
      if (this.idleMs > 0) this.touch();
      if (!this.push(c)) inner.pause();
    });
    inner.on('end', () => {
      this.peerEnded = true;
      this.push(null);
    });
    inner.on('error', (e: Error) => this.destroy(e));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed) {
      cb(new Error('tunnel closed'));
      return;
    }
    if (this.idleMs > 0) this.touch();
    this.inner.write(chunk, encoding, cb);
  }

  override _writev(
    chunks: { chunk: Buffer | string; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    if (this.inner.destroyed) {
      cb(new Error('tunnel closed'));
      return;
    }
    if (this.idleMs > 0) this.touch();
    const bufs = chunks.map((c) =>
      typeof c.chunk === 'string' ? Buffer.from(c.chunk, c.encoding) : c.chunk,
    );
    this.inner.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.inner.writableEnded && !this.inner.destroyed) this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }

  /** net.Socket's idle timeout: 'timeout' after ms without a byte either way (0 turns it off). */
  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    this.idleMs = ms;
    // a shorter timeout than the armed timer's: arm it again (a longer one waits the rest on fire)
    if (this.idleTimer && ms > 0 && performance.now() + ms < this.firesAt) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    this.touch();
    return this;
  }

  /** net.Socket's `timeout` (node:http's Agent reads it before setting its own). */
  get timeout(): number {
    return this.idleMs;
  }

  private idleMs = 0;
  private lastActive = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private firesAt = 0;

  /** Notes activity; arms the one timer when none is armed. */
  private touch(): void {
    this.lastActive = performance.now();
    if (this.idleMs > 0 && !this.idleTimer && !this.destroyed) this.arm(this.idleMs);
  }

  private arm(ms: number): void {
    this.firesAt = performance.now() + ms;
    this.idleTimer = setTimeout(() => this.onIdleTimer(), ms);
    this.idleTimer.unref();
  }

  /** 'timeout' when idle for idleMs; else waits out the rest from the last activity. */
  private onIdleTimer(): void {
    this.idleTimer = undefined;
    if (this.idleMs <= 0 || this.destroyed) return;
    const idle = performance.now() - this.lastActive;
    if (idle >= this.idleMs) this.emit('timeout');
    else this.arm(Math.max(1, Math.ceil(this.idleMs - idle)));
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
