// L7 load lane: gRPC unary calls (1 KB message, echoed) at a fixed rate on one long-lived
// prior-knowledge HTTP/2 connection from the client pod through ztunnel -> waypoint -> ztunnel to
// the backend's /soak.Echo/Echo, as a gRPC channel would hold it. The mix (request-intent.ts):
// plain calls, calls whose first attempt fails UNAVAILABLE (the TrafficPolicy's retry must hide
// it), and injected INTERNAL (13) the client must see. A lost connection is counted and redialled.
import http2 from 'node:http2';
import { errorKind } from './error-tally.js';
import { dialErrorKind, dialMesh, type LaneContext, type LoadLane } from './mesh-dial.js';
import { PacedLoop } from './paced-loop.js';
import { judgeAnswer, requestIntent } from './request-intent.js';

const MESSAGE = 1024;

/** A gRPC length-prefixed message (uncompressed). */
export function grpcFrame(msg: Buffer): Buffer {
  const f = Buffer.alloc(5 + msg.length);
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

export function grpcLane(
  ctx: LaneContext,
  o: { target: { ip: string; port: number; host: string }; rate: number; maxInFlight: number },
): LoadLane {
  const run = Date.now().toString(36);
  let session: Promise<http2.ClientHttp2Session> | undefined;
  let open: http2.ClientHttp2Session | undefined;

  const connect = async (): Promise<http2.ClientHttp2Session> => {
    const socket = await dialMesh(ctx, o.target);
    const s = http2.connect(`http://${o.target.host}:${o.target.port}`, { createConnection: () => socket });
    socket.resume();
    const forget = (): void => {
      if (open === s) open = undefined;
      session = undefined;
    };
    s.on('error', (err) => {
      ctx.tally.error(`grpc connection ${errorKind(err)}`);
      forget();
    });
    s.on('goaway', forget);
    s.on('close', forget);
    open = s;
    return s;
  };
  const current = (): Promise<http2.ClientHttp2Session> => {
    if (session === undefined) {
      const p = connect();
      session = p;
      p.catch(() => {
        if (session === p) session = undefined;
      });
    }
    return session;
  };

  let seq = 0;
  const once = async (): Promise<void> => {
    const n = seq++;
    const intent = requestIntent(n);
    let s: http2.ClientHttp2Session;
    try {
      s = await current();
    } catch (err) {
      ctx.tally.error(`grpc dial ${dialErrorKind(err) ?? errorKind(err)}`);
      return;
    }
    const msg = Buffer.alloc(MESSAGE, n % 251);
    msg.writeUInt32BE(n);
    await new Promise<void>((resolve) => {
      let settled = false;
      // called only from the stream's events and the timer, so always after `timer` is set
      const finish = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        f();
        resolve();
      };
      let req: http2.ClientHttp2Stream;
      try {
        req = s.request({
          ':method': 'POST',
          ':path': '/soak.Echo/Echo',
          'content-type': 'application/grpc',
          te: 'trailers',
          ...(intent === 'injected' ? { 'x-soak-fail': '13' } : {}),
          ...(intent === 'retried' ? { 'x-soak-fail-once': `${run}-${n}` } : {}),
        });
      } catch (err) {
        ctx.tally.error(`grpc request ${errorKind(err)}`);
        resolve();
        return;
      }
      const timer = setTimeout(
        () =>
          finish(() => {
            ctx.tally.error('grpc SOAK_TIMEOUT');
            req.close(http2.constants.NGHTTP2_CANCEL);
          }),
        ctx.timeoutMs,
      );
      let status: string | undefined;
      let body = Buffer.alloc(0);
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      req.on('trailers', (t) => (status = String(t['grpc-status'])));
      req.on('data', (c: Buffer) => (body = Buffer.concat([body, c])));
      req.on('error', (err) => finish(() => ctx.tally.error(`grpc stream ${errorKind(err)}`)));
      req.on('end', () =>
        finish(() => {
          const out = judgeAnswer(intent, status ?? 'none', '0', '13');
          const echoed = body.length === 5 + MESSAGE && body.subarray(5).equals(msg);
          if (out.kind === 'ok' && !echoed) ctx.tally.error('grpc echo differs from the request');
          else if (out.kind === 'ok') ctx.tally.ok('grpc via waypoint', 2 * MESSAGE);
          else if (out.kind === 'injected') ctx.tally.injectedError(`grpc status ${out.what}`);
          else ctx.tally.error(`grpc status ${out.what}`);
        }),
      );
      req.end(grpcFrame(msg));
    });
  };

  const loop = new PacedLoop({
    rate: o.rate,
    maxInFlight: o.maxInFlight,
    fire: once,
    onBacklog: () => ctx.tally.error('grpc backlog'),
  });
  return {
    name: 'grpc',
    start: () => loop.start(),
    stop: async () => {
      await loop.stop();
      open?.close();
    },
  };
}
