// L7 load lane: HTTP/1.1 keep-alive GETs at a fixed rate from the client pod through ztunnel ->
// waypoint -> ztunnel to the backend's 1 KB answer. The mix (request-intent.ts): plain requests,
// requests on /retry whose first attempt fails (the HTTPRoute's retry must hide it) and injected
// 503s the client must see.
import http from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import { errorKind } from './error-tally.js';
import { dialErrorKind, dialMesh, type LaneContext, type LoadLane } from './mesh-dial.js';
import { PacedLoop } from './paced-loop.js';
import { judgeAnswer, requestIntent } from './request-intent.js';
import { SoakIoError } from './socket-reader.js';

/** A keep-alive agent whose connections are SOCKS5 tunnels from the client pod. */
class MeshAgent extends http.Agent {
  constructor(
    opts: http.AgentOptions,
    private readonly dial: () => Promise<Duplex>,
  ) {
    super(opts);
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    cb?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    this.dial().then(
      (s) => {
        cb?.(null, s);
        s.resume(); // socks5Connect hands the socket over paused
      },
      (e: Error) => {
        // node:http reads only the error; the stream argument is required by the type
        const none = new PassThrough();
        none.destroy();
        cb?.(e, none);
      },
    );
    return undefined;
  }
}

export function httpLane(
  ctx: LaneContext,
  o: { target: { ip: string; port: number; host: string }; rate: number; maxInFlight: number },
): LoadLane {
  const run = Date.now().toString(36);
  const agent = new MeshAgent({ keepAlive: true, maxSockets: o.maxInFlight, scheduling: 'fifo' }, () =>
    dialMesh(ctx, o.target),
  );
  let seq = 0;
  const once = (): Promise<void> => {
    const n = seq++;
    const intent = requestIntent(n);
    const headers: http.OutgoingHttpHeaders =
      intent === 'injected'
        ? { 'x-soak-fail': '503' }
        : intent === 'retried'
          ? { 'x-soak-fail-once': `${run}-${n}` }
          : {};
    return new Promise<void>((resolve) => {
      const req = http.request(
        { host: o.target.host, agent, path: intent === 'retried' ? `/retry/${n}` : '/', headers },
        (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            const out = judgeAnswer(intent, String(res.statusCode ?? 0), '200', '503');
            if (out.kind === 'ok' && bytes !== 1024) ctx.tally.error(`http body ${bytes} bytes, not 1024`);
            else if (out.kind === 'ok') ctx.tally.ok('http/1.1 via waypoint', bytes);
            else if (out.kind === 'injected') ctx.tally.injectedError(`http ${out.what}`);
            else ctx.tally.error(`http ${out.what}`);
            resolve();
          });
          res.on('error', (err) => {
            ctx.tally.error(`http response ${errorKind(err)}`);
            resolve();
          });
        },
      );
      req.setTimeout(ctx.timeoutMs, () =>
        req.destroy(new SoakIoError('SOAK_TIMEOUT', `no answer within ${ctx.timeoutMs} ms`)),
      );
      req.on('error', (err) => {
        // a failed dial (SOCKS5 refusal, timeout) ends here too
        ctx.tally.error(`http ${dialErrorKind(err) ?? errorKind(err)}`);
        resolve();
      });
      req.end();
    });
  };
  const loop = new PacedLoop({
    rate: o.rate,
    maxInFlight: o.maxInFlight,
    fire: once,
    onBacklog: () => ctx.tally.error('http backlog'),
  });
  return {
    name: 'http',
    start: () => loop.start(),
    stop: async () => {
      await loop.stop();
      agent.destroy();
    },
  };
}
