// A plain JS Duplex around an HBONE tunnel stream (an HTTP/2 stream), shaped enough like a
// net.Socket for node:http and node:http2 to run HTTP over it. node:http must not see the h2
// stream itself: it takes the stream's native handle for a fast header write and corrupts the
// response head (seen on Node 20: garbage before "Date:"). Carries the tunnel's context for the
// request path to read back.
import { Duplex } from 'node:stream';

export class StreamSocket<Ctx> extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;

  constructor(
    private readonly inner: Duplex,
    readonly context: Ctx,
    peer: { address: string; port: number },
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = peer.address;
    this.remotePort = peer.port;
    inner.on('data', (c: Buffer) => {
      if (this.idleTimer) this.touch();
      if (!this.push(c)) inner.pause();
    });
    inner.on('end', () => this.push(null));
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
    if (this.idleTimer) this.touch();
    this.inner.write(chunk, encoding, cb);
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
    this.touch();
    return this;
  }

  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref();
    }
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
