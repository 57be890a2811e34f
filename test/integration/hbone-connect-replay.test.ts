// The CONNECT replay against a real HTTP/2 server over mutual TLS on loopback: a CONNECT the
// server refuses unprocessed (RST_STREAM REFUSED_STREAM, with or without its GOAWAY, as a draining
// destination ztunnel does) is sent again once on a fresh connection, with the client's early
// bytes and FIN; any other refusal, or a second one, is not.
import http2, { constants as h2c, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { createSecureContext } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { issue } from '../support/in-process-control-plane.js';
import { HbonePool, type HboneTarget } from '../../ztunnel/hbone/hbone-pool.js';
import { EARLY_REPLAY_LIMIT, openReplayable } from '../../ztunnel/hbone/replayable-connect.js';
import { splice } from '../../ztunnel/hbone/splice.js';
import { HboneTunnelError } from '../../ztunnel/hbone/tunnel-error.js';

const SERVER_ID = 'spiffe://cluster.local/ambit/node/node-2';
const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/client';

/** How the server answers its n-th CONNECT (0-based, over all sessions). */
type Answer = 'refuse' | 'goaway-refuse' | 'echo' | 503;

interface TestServer {
  port: number;
  /** per CONNECT: the session it came on and the bytes it carried before END_STREAM */
  requests: { session: number; answer: Answer; bytes: number }[];
  close(): Promise<void>;
}

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
let clientCert: IssuedCertificate;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  ca = await CertificateAuthority.generate('cluster.local');
  serverCert = await issue(ca, SERVER_ID);
  clientCert = await issue(ca, CLIENT_ID);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(answers: Answer[]): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sessionIds = new WeakMap<ServerHttp2Session, number>();
  let sessions = 0;
  const open = new Set<ServerHttp2Session>();
  const server = http2.createSecureServer({
    key: serverCert.keyPem,
    cert: serverCert.certChainPem.join('\n'),
    ca: [ca.rootPem],
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
  });
  server.on('session', (s) => {
    sessionIds.set(s, sessions++);
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.on('error', () => undefined);
    const answer = answers[requests.length] ?? 'echo';
    const rec = { session: sessionIds.get(stream.session as ServerHttp2Session) ?? -1, answer, bytes: 0 };
    requests.push(rec);
    if (answer === 'refuse' || answer === 'goaway-refuse') {
      if (answer === 'goaway-refuse') stream.session?.close();
      stream.close(h2c.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (answer === 503) {
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200 });
    stream.on('data', (d: Buffer) => {
      rec.bytes += d.length;
      stream.write(d);
    });
    stream.on('end', () => stream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A connected TCP pair on loopback: `app` is the pod's end, `captured` the ztunnel's. */
async function socketPair(): Promise<{ app: net.Socket; captured: net.Socket }> {
  const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const app = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const captured = await accepted;
  listener.close();
  cleanups.push(() => {
    app.destroy();
    captured.destroy();
  });
  return { app, captured };
}

function target(port: number): HboneTarget {
  return {
    sourceIdentity: CLIENT_ID,
    secureContext: createSecureContext({
      key: clientCert.keyPem,
      cert: clientCert.certChainPem.join('\n'),
      ca: [ca.rootPem],
    }),
    serverIdentity: SERVER_ID,
    gateway: { ip: '127.0.0.1', port },
    authority: { ip: '10.0.0.9', port: 8080 },
    headers: {},
  };
}

async function setup(answers: Answer[]) {
  const server = await startServer(answers);
  const pool = new HbonePool();
  cleanups.push(() => server.close());
  cleanups.push(() => pool.close());
  const { app, captured } = await socketPair();
  captured.on('error', () => undefined);
  return { server, pool, app, captured };
}

/** Everything the app end reads until EOF. */
function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

describe('openReplayable', () => {
  for (const first of ['refuse', 'goaway-refuse'] as const) {
    it(`replays a CONNECT refused unprocessed (${first}) on a new connection, with the early bytes and FIN`, async () => {
      const { server, pool, app, captured } = await setup([first, 'echo']);
      // more than the replay limit, sent before any answer, then FIN
      const sent = pattern(EARLY_REPLAY_LIMIT * 2 + 123);
      app.end(sent);
      const echoed = readAll(app);
      const replays: string[] = [];
      const opened = await openReplayable(pool, target(server.port), captured, {
        early: true,
        onReplay: (e) => replays.push(e.code),
      });
      expect(opened.attempts).toBe(2);
      expect(replays).toEqual(['ZT_TUNNEL_RESET']);
      expect(opened.earlyBytes).toBeGreaterThan(0);
      const r = await splice(captured, opened.stream);
      expect(Buffer.compare(await echoed, sent)).toBe(0);
      expect(r.received + opened.earlyBytes).toBe(sent.length);
      expect(server.requests.map((q) => q.answer)).toEqual([first, 'echo']);
      // the refused connection takes no new tunnel: the replay went out on a fresh one
      expect(server.requests[1]?.session).not.toBe(server.requests[0]?.session);
      expect(server.requests[1]?.bytes).toBe(sent.length);
    });
  }

  it('replays for a client that waits for the answer (SOCKS5) too', async () => {
    const { server, pool, app, captured } = await setup(['goaway-refuse', 'echo']);
    const opened = await openReplayable(pool, target(server.port), captured, { early: false });
    expect(opened.attempts).toBe(2);
    expect(opened.earlyBytes).toBe(0);
    const echoed = readAll(app);
    const done = splice(captured, opened.stream);
    app.end('hello');
    expect((await echoed).toString()).toBe('hello');
    await done;
  });

  it('sends at most one replay: a second refusal is the answer', async () => {
    const { server, pool, app, captured } = await setup(['refuse', 'refuse', 'echo']);
    app.write('early');
    const err = await openReplayable(pool, target(server.port), captured, { early: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HboneTunnelError);
    expect((err as HboneTunnelError).unprocessed).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  it('never replays a CONNECT the server processed (503)', async () => {
    const { server, pool, app, captured } = await setup([503, 'echo']);
    app.write('early');
    const err = await openReplayable(pool, target(server.port), captured, { early: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HboneTunnelError);
    expect((err as HboneTunnelError).code).toBe('ZT_TUNNEL_REFUSED');
    expect((err as HboneTunnelError).status).toBe(503);
    expect((err as HboneTunnelError).unprocessed).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('holds at most the replay limit before the answer (the client waits, nothing dropped)', async () => {
    // 4x the limit written at once: the socket pauses at the limit and resumes with the splice
    const { server, pool, app, captured } = await setup(['echo']);
    const sent = pattern(EARLY_REPLAY_LIMIT * 4);
    app.write(sent);
    const echoed = readAll(app);
    const opened = await openReplayable(pool, target(server.port), captured, { early: true });
    expect(opened.attempts).toBe(1);
    expect(opened.earlyBytes).toBeLessThan(sent.length);
    const done = splice(captured, opened.stream);
    app.end();
    expect(Buffer.compare(await echoed, sent)).toBe(0);
    const r = await done;
    expect(r.received + opened.earlyBytes).toBe(sent.length);
  });
});
