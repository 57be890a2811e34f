// L4 load lane: long-lived connections through the mesh to the TCP echo, each doing a 1 KB round
// trip every `intervalMs` for the whole soak and checking every byte that comes back. A broken
// connection is counted by kind and reopened after a pause (at most one dial a second per stream).
import { setTimeout as sleep } from 'node:timers/promises';
import { errorKind } from './error-tally.js';
import { dialErrorKind, dialMesh, type LaneContext, type LoadLane } from './mesh-dial.js';
import { SocketReader, SoakIoError } from './socket-reader.js';

export const SIZE = 1024;

/** 1 KB whose first 8 bytes are the sequence number, the rest a pattern of it. */
export function payload(seq: number): Buffer {
  const b = Buffer.alloc(SIZE, seq % 251);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

export function l4StreamsLane(
  ctx: LaneContext,
  o: { target: { ip: string; port: number }; streams: number; intervalMs: number },
): LoadLane {
  const abort = new AbortController();
  const running: Promise<void>[] = [];
  let seq = 0;
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  const stream = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      let socket;
      try {
        socket = await dialMesh(ctx, o.target);
      } catch (err) {
        ctx.tally.error(`l4-stream dial ${dialErrorKind(err) ?? errorKind(err)}`);
        await pause(1000);
        continue;
      }
      const reader = new SocketReader(socket);
      try {
        while (!abort.signal.aborted) {
          const req = payload(seq++);
          socket.write(req);
          const got = await reader.read(SIZE, ctx.timeoutMs);
          if (!got.equals(req)) throw new SoakIoError('SOAK_MISMATCH', 'echo differs from what was sent');
          ctx.tally.ok('l4 long-lived', 2 * SIZE);
          await pause(o.intervalMs);
        }
        socket.end();
        await reader.closed(ctx.timeoutMs);
      } catch (err) {
        if (!abort.signal.aborted) {
          ctx.tally.error(`l4-stream ${errorKind(err)}`);
          await pause(1000);
        }
      } finally {
        socket.destroy();
      }
    }
  };

  return {
    name: 'l4 long-lived',
    start: () => {
      for (let i = 0; i < o.streams; i++) running.push(stream());
    },
    stop: async () => {
      abort.abort();
      await Promise.all(running);
    },
  };
}
