// Reads exact byte counts from a socket with a deadline, for the soak's L4 lanes: resolves when n
// bytes have arrived; rejects with a coded error (SOAK_TIMEOUT, SOAK_EOF, or the socket's own
// error) so a stalled or cut connection is counted, never waited on forever.
import type net from 'node:net';

export class SoakIoError extends Error {
  constructor(
    readonly code: 'SOAK_TIMEOUT' | 'SOAK_EOF' | 'SOAK_MISMATCH',
    message: string,
  ) {
    super(message);
  }
}

export class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private failed: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.failed = e;
      this.wake?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.resume();
  }

  /** The next n bytes, within timeoutMs. */
  read(n: number, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new SoakIoError('SOAK_TIMEOUT', `no ${n} bytes within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (this.buf.length >= n) {
          const out = this.buf.subarray(0, n);
          this.buf = this.buf.subarray(n);
          done();
          resolve(out);
        } else if (this.failed) {
          done();
          reject(this.failed);
        } else if (this.ended) {
          done();
          reject(new SoakIoError('SOAK_EOF', `connection ended after ${this.buf.length} of ${n} bytes`));
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
      };
      this.wake = check;
      check();
    });
  }

  /** Resolves when the peer has closed its side (EOF or close), within timeoutMs. */
  closed(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new SoakIoError('SOAK_TIMEOUT', `no EOF within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (this.failed) {
          clearTimeout(timer);
          this.wake = undefined;
          reject(this.failed);
        } else if (this.ended) {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        }
      };
      this.wake = check;
      check();
    });
  }
}
