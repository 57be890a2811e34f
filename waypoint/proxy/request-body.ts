// A request body read once from the client and written to one or more upstream attempts: the first
// attempt gets it live (with backpressure), while up to `cap` bytes are kept so that a retry or a
// mirror can replay it. A body larger than the cap streams through, but cannot be replayed: a
// request whose body was not kept whole is not retried after its first attempt sent bytes.
import type { Readable, Writable } from 'node:stream';

export const REPLAY_CAP_BYTES = 1 << 20;

export class RequestBody {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes read from the client so far. */
  size = 0;
  ended = false;
  overflowed = false;
  errored = false;
  private live: Writable | undefined;
  private readonly endWaiters: (() => void)[] = [];

  constructor(
    private readonly src: Readable,
    private readonly cap = REPLAY_CAP_BYTES,
  ) {
    src.on('data', (c: Buffer) => {
      this.size += c.length;
      if (!this.overflowed) {
        if (this.kept + c.length > this.cap) {
          this.overflowed = true;
          this.chunks.length = 0;
        } else {
          this.chunks.push(c);
          this.kept += c.length;
        }
      }
      const live = this.live;
      if (live && !live.destroyed && !live.write(c)) {
        src.pause();
        live.once('drain', () => src.resume());
      }
    });
    src.once('end', () => {
      this.ended = true;
      const live = this.live;
      if (live && !live.destroyed) live.end();
      for (const w of this.endWaiters.splice(0)) w();
    });
    src.once('error', () => {
      this.errored = true;
      for (const w of this.endWaiters.splice(0)) w();
    });
    src.pause();
  }

  /** Whether the whole body is kept and can be written again. */
  replayable(): boolean {
    return this.ended && !this.overflowed && !this.errored;
  }

  /** Resolves when the client's body ended (or failed). */
  whenEnded(): Promise<void> {
    if (this.ended || this.errored) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /**
   * Writes the body to `dst`: what was read so far, then (first attempt only) the rest as it
   * arrives. Returns false when the body cannot be given to this destination whole.
   */
  writeTo(dst: Writable, opts: { live: boolean }): boolean {
    if (this.ended) {
      if (this.overflowed || this.errored) return false;
      for (const c of this.chunks) dst.write(c);
      dst.end();
      return true;
    }
    if (!opts.live || this.live || this.overflowed) return false;
    for (const c of this.chunks) dst.write(c);
    this.live = dst;
    dst.once('close', () => {
      if (this.live === dst) {
        this.live = undefined;
        this.src.resume(); // keep reading (and keeping) so a retry can still replay
      }
    });
    this.src.resume();
    return true;
  }

  /** Drops the live destination (its attempt failed): reading goes on into the replay buffer. */
  detach(): void {
    this.live = undefined;
    this.src.resume();
  }
}
