// L4 load lane: short connections through the mesh to the TCP echo at a fixed rate, each one dial,
// one 1 KB round trip checked byte for byte, a half-close and the echo's EOF back (so a lost FIN is
// an error, not a leaked connection).
import { errorKind } from './error-tally.js';
import { payload, SIZE } from './lane-l4-streams.js';
import { dialErrorKind, dialMesh, type LaneContext, type LoadLane } from './mesh-dial.js';
import { PacedLoop } from './paced-loop.js';
import { SocketReader, SoakIoError } from './socket-reader.js';

export function l4ShortLane(
  ctx: LaneContext,
  o: { target: { ip: string; port: number }; rate: number; maxInFlight: number },
): LoadLane {
  let seq = 0;
  const once = async (): Promise<void> => {
    let socket;
    try {
      socket = await dialMesh(ctx, o.target);
    } catch (err) {
      ctx.tally.error(`l4-short dial ${dialErrorKind(err) ?? errorKind(err)}`);
      return;
    }
    try {
      const reader = new SocketReader(socket);
      const req = payload(seq++);
      socket.write(req);
      const got = await reader.read(SIZE, ctx.timeoutMs);
      if (!got.equals(req)) throw new SoakIoError('SOAK_MISMATCH', 'echo differs from what was sent');
      socket.end();
      await reader.closed(ctx.timeoutMs);
      ctx.tally.ok('l4 short', 2 * SIZE);
    } catch (err) {
      ctx.tally.error(`l4-short ${errorKind(err)}`);
    } finally {
      socket.destroy();
    }
  };
  const loop = new PacedLoop({
    rate: o.rate,
    maxInFlight: o.maxInFlight,
    fire: once,
    onBacklog: () => ctx.tally.error('l4-short backlog'),
  });
  return { name: 'l4 short', start: () => loop.start(), stop: () => loop.stop() };
}
