import { afterEach, describe, expect, it, vi } from 'vitest';
import { PassThrough, Writable } from 'node:stream';
import { StreamSocket } from './stream-socket.js';

/** An inner stream that records each write it gets (one per DATA frame on a real h2 stream). */
function recordingInner(): { inner: PassThrough; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const inner = new PassThrough();
  const orig = inner.write.bind(inner);
  inner.write = ((chunk: Buffer, ...rest: never[]) => {
    writes.push(Buffer.from(chunk));
    return orig(chunk, ...rest);
  }) as typeof inner.write;
  return { inner, writes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('StreamSocket', () => {
  it('writes what was corked as one write to the tunnel stream', async () => {
    const { inner, writes } = recordingInner();
    const s = new StreamSocket(inner, {}, { address: '127.0.0.1', port: 0 });
    s.cork();
    s.write('HTTP/1.1 200 OK\r\n\r\n');
    s.write(Buffer.from('body'));
    s.uncork();
    await new Promise<void>((r) => s.write('', () => r()));
    expect(writes[0]?.toString()).toBe('HTTP/1.1 200 OK\r\n\r\nbody');
    s.destroy();
  });

  it("emits 'timeout' after the idle time with no bytes, and not while bytes flow", () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { inner } = recordingInner();
    const s = new StreamSocket(inner, {}, { address: '127.0.0.1', port: 0 });
    s.pipe(new Writable({ write: (_c, _e, cb) => cb() }));
    const timeouts: number[] = [];
    s.on('timeout', () => timeouts.push(performance.now()));
    s.setTimeout(1000);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(600);
      inner.emit('data', Buffer.from('x')); // activity every 600 ms: never idle for 1,000
    }
    expect(timeouts).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(timeouts.length).toBe(1);
    s.setTimeout(0);
    vi.advanceTimersByTime(5000);
    expect(timeouts.length).toBe(1);
    expect(s.timeout).toBe(0);
    s.destroy();
  });

  it('a shorter timeout set while a longer one is armed fires at the shorter time', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { inner } = recordingInner();
    const s = new StreamSocket(inner, {}, { address: '127.0.0.1', port: 0 });
    let fired = 0;
    s.on('timeout', () => fired++);
    s.setTimeout(60_000);
    s.setTimeout(100);
    vi.advanceTimersByTime(150);
    expect(fired).toBe(1);
    s.destroy();
  });
});
