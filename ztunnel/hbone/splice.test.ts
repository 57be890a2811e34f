// splice() on real loopback sockets: the two aborts that must reach the far side as a reset, never
// as a FIN (a peer that had half-closed would read a complete-looking reply with its tail missing):
// the HBONE session dying under a stream (the peer ztunnel SIGKILLed: its TLS connection closes
// with a plain FIN, which Node reads as RST_STREAM CANCEL), and a TCP reset that Node reports as EOF
// because it arrived behind unread data.
import http2 from 'node:http2';
import net from 'node:net';
import { constants } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { splice, type SpliceResult } from './splice.js';
import { connectUpstream } from '../net/upstream-connect.js';
import { pendingSocketError, resetOnProcessDeath } from '../net/abortive-close.js';
import { until } from '../../local-cluster/until.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const errnoName = (n: number): string =>
  Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? String(n);

async function listen(server: net.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** How a socket ended: 'eof' (a FIN, SO_ERROR clear), or the error (also one read as EOF). */
function watchEnding(s: net.Socket): () => string | undefined {
  let ending: string | undefined;
  s.on('end', () => {
    const e = pendingSocketError(s);
    ending ??= e === 0 ? 'eof' : errnoName(e);
  });
  s.on('error', (e: NodeJS.ErrnoException) => (ending ??= e.code ?? e.message));
  return () => ending;
}

/**
 * A destination ztunnel in miniature: each CONNECT stream is answered 200 and spliced to a fresh
 * upstream socket to the pod; every splice's result is kept.
 */
async function destinationZtunnel(podPort: number): Promise<{ port: number; results: SpliceResult[] }> {
  const results: SpliceResult[] = [];
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    void connectUpstream({ ip: '127.0.0.1', port: podPort }).then(async (upstream) => {
      stream.respond({ ':status': 200 });
      results.push(await splice(stream, upstream));
    });
  });
  return { port: await listen(h2), results };
}

/**
 * The source ztunnel's HBONE session to `port`, with its TCP socket: destroying that socket closes
 * it with a plain FIN, as the kernel does when the process is SIGKILLed.
 */
function sourceZtunnel(port: number): { session: http2.ClientHttp2Session; raw: () => net.Socket } {
  let socket: net.Socket | undefined;
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => (socket = net.connect({ host: '127.0.0.1', port })),
  });
  session.on('error', () => undefined);
  cleanups.push(() => session.destroy());
  return {
    session,
    raw: () => {
      if (!socket) throw new Error('the session has no socket yet');
      return socket;
    },
  };
}

describe('splice', () => {
  it('an HBONE session that dies under a half-closed stream resets the pod, not a FIN', async () => {
    // the pod: reads the request to its EOF and would answer later (its answer has nowhere to go)
    let podSocket: net.Socket | undefined;
    let podGotRequest = false;
    const pod = net.createServer({ allowHalfOpen: true }, (s) => {
      podSocket = s;
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('end', () => (podGotRequest = true));
    });
    const podPort = await listen(pod);
    // the destination ztunnel: each CONNECT stream spliced to a fresh upstream socket
    const { port: h2Port, results } = await destinationZtunnel(podPort);
    // the source ztunnel, whose TCP connection we close with a plain FIN, as the kernel does when
    // the process is SIGKILLed
    const { session, raw } = sourceZtunnel(h2Port);
    const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${podPort}` });
    req.on('error', () => undefined);
    req.end('request');
    await until('the pod to read the request and its EOF', () => podGotRequest, 10_000);
    raw().destroy();
    await until('the splice to end', () => results[0], 10_000);
    expect(results[0]?.outcome).toBe('reset');
    // the pod, half-closed by the request's EOF (CLOSE_WAIT), learns of the reset as EPIPE; with a
    // FIN instead nothing would ever tell it that its answer is lost
    const podError = await until(
      'the pod to hold the reset',
      () => {
        const e = podSocket ? pendingSocketError(podSocket) : 0;
        return e === 0 ? undefined : errnoName(e);
      },
      5_000,
    );
    expect(podError).toBe('EPIPE');
  });

  it('an HBONE session that dies under open streams resets each pod (a sending one too), no FIN first', async () => {
    // pods that send as fast as they are read, forever: the client side never grants window
    const pods = new Map<net.Socket, string>();
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pod = net.createServer((s) => {
      pods.set(s, 'open');
      s.on('end', () => pods.set(s, 'eof'));
      s.on('error', (e: NodeJS.ErrnoException) => pods.set(s, e.code ?? e.message));
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
      };
      s.on('drain', pump);
      pump();
    });
    const podPort = await listen(pod);
    const { port: h2Port, results } = await destinationZtunnel(podPort);
    const { session, raw } = sourceZtunnel(h2Port);
    for (let i = 0; i < 10; i++) {
      const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${podPort}` });
      req.on('error', () => undefined);
      req.pause();
    }
    await until('10 pods connected', () => pods.size >= 10, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // buffers fill, the streams stall
    raw().destroy();
    await until('every splice to end', () => results.length === 10, 10_000);
    await until('every pod to see the end', () => ![...pods.values()].includes('open'), 10_000);
    expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['reset']));
    expect(new Set(pods.values())).toEqual(new Set(['ECONNRESET']));
  });

  it('a stream that ends both ways still ends the pod with a FIN', async () => {
    let podEnding: (() => string | undefined) | undefined;
    const pod = net.createServer({ allowHalfOpen: true }, (s) => {
      podEnding = watchEnding(s);
      s.on('data', () => undefined);
      s.on('end', () => s.end('reply'));
    });
    const podPort = await listen(pod);
    const { port: h2Port, results } = await destinationZtunnel(podPort);
    const session = http2.connect(`http://127.0.0.1:${h2Port}`);
    cleanups.push(() => session.destroy());
    const req = session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${podPort}` });
    let reply = '';
    req.on('data', (b: Buffer) => (reply += b.toString()));
    req.end('request');
    await until('the splice to end', () => results[0], 10_000);
    // the session dies right after the stream ended both ways: nothing to reset
    session.destroy();
    await until('the pod to see the end', () => podEnding?.(), 10_000);
    expect({ outcome: results[0]?.outcome, pod: podEnding?.(), reply }).toEqual({
      outcome: 'eof',
      pod: 'eof',
      reply: 'reply',
    });
  });

  it('a TCP reset Node reads as EOF (behind unread bytes) is passed on as a reset', async () => {
    // server: streams 8 MiB, then resets while most of it waits in the proxy's buffers
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      resetOnProcessDeath(s);
      s.write(Buffer.alloc(8 * 1024 * 1024, 5));
      setTimeout(() => s.resetAndDestroy(), 300);
    });
    const serverPort = await listen(server);
    let result: SpliceResult | undefined;
    const proxy = net.createServer({ allowHalfOpen: true }, (a) => {
      resetOnProcessDeath(a);
      void connectUpstream({ ip: '127.0.0.1', port: serverPort }).then(async (b) => {
        result = await splice(a, b);
      });
    });
    const proxyPort = await listen(proxy);
    const client = net.connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
    cleanups.push(() => client.destroy());
    const clientEnding = watchEnding(client);
    let got = 0;
    client.pause(); // backpressure: the reset arrives behind bytes the proxy has not read
    client.on('data', (b: Buffer) => (got += b.length));
    await new Promise((r) => setTimeout(r, 800));
    client.resume();
    await until('the client to see the end', () => clientEnding(), 10_000);
    await until('the splice to end', () => result, 10_000);
    expect(got).toBeLessThan(8 * 1024 * 1024);
    expect({ outcome: result?.outcome, client: clientEnding() }).toEqual({
      outcome: 'reset',
      client: 'ECONNRESET',
    });
  });
});
