import { afterEach, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { ConnectionGate, type GateTicket } from './connection-gate.js';
import { guardedServer } from './guarded-listener.js';
import type { LimitName } from './listener-limits.js';

const servers: net.Server[] = [];
const clients: net.Socket[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A guarded server on loopback that records what it hands on and what it refuses. */
async function start(o: { maxConnections: number; handshake?: boolean; handshakeTimeoutMs?: number }) {
  const gate = new ConnectionGate({
    maxConnections: o.maxConnections,
    maxConnectionsPerSource: 100,
    maxHandshakes: 100,
  });
  const handled: { socket: net.Socket; ticket: GateTicket; source: string }[] = [];
  const waiting: (() => void)[] = [];
  const limits: LimitName[] = [];
  const server = guardedServer({
    gate,
    ...(o.handshake !== undefined ? { handshake: o.handshake } : {}),
    ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    onLimit: (limit) => limits.push(limit),
    handle: (socket, ticket, source) => {
      handled.push({ socket, ticket, source });
      for (const w of waiting.splice(0)) w();
    },
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (server.address() as net.AddressInfo).port;
  /** Resolves once the server has handed on its n-th connection. */
  const handedOn = (n: number) =>
    new Promise<void>((r) => (handled.length >= n ? r() : waiting.push(() => handedOn(n).then(r))));
  const errors = new Map<net.Socket, string>();
  const connect = async () => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.on('error', (e: NodeJS.ErrnoException) => errors.set(c, e.code ?? e.message));
    clients.push(c);
    // a refused one may be reset before Node reports it connected
    await new Promise((r) => {
      c.once('connect', r);
      c.once('close', r);
    });
    return c;
  };
  return { gate, handled, limits, connect, handedOn, errors };
}

/** Resolves on the socket's 'close' event (after the listener's own 'close' handler has run). */
const closed = (s: net.Socket) => new Promise((r) => s.once('close', r));

describe('guardedServer', () => {
  it('hands admitted connections on, resets refused ones, and gives the ticket back on close', async () => {
    const g = await start({ maxConnections: 1 });
    await g.connect();
    await g.handedOn(1);
    const refused = await g.connect();
    if (!refused.closed) await closed(refused);
    expect(g.errors.get(refused)).toBe('ECONNRESET');
    expect(g.limits).toEqual(['connections']);
    expect(g.handled).toHaveLength(1);
    expect(g.handled[0]?.source).toBe('127.0.0.1');
    expect(g.gate.connections).toBe(1);
    const first = g.handled[0]?.socket;
    if (!first) throw new Error('not handed on');
    const firstClosed = closed(first);
    first.destroy();
    await firstClosed;
    expect(g.gate.connections).toBe(0);
    await g.connect();
    await g.handedOn(2);
    expect(g.limits).toEqual(['connections']);
  });

  const handshakeCases: { name: string; done: boolean; want: { limits: LimitName[]; open: boolean } }[] = [
    {
      name: 'a handshake not done in time is closed and reported',
      done: false,
      want: { limits: ['handshake-timeout'], open: false },
    },
    { name: 'a handshake done in time stops the timer', done: true, want: { limits: [], open: true } },
  ];
  it.each(handshakeCases)('$name', async ({ done, want }) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const g = await start({ maxConnections: 10, handshake: true, handshakeTimeoutMs: 5_000 });
    await g.connect();
    await g.handedOn(1);
    const h = g.handled[0];
    if (!h) throw new Error('not handed on');
    expect(g.gate.handshakes).toBe(1);
    if (done) h.ticket.handshakeDone();
    const serverClosed = closed(h.socket);
    vi.advanceTimersByTime(5_000);
    expect(g.limits).toEqual(want.limits);
    expect(h.socket.destroyed).toBe(!want.open);
    expect(g.gate.handshakes).toBe(done ? 0 : 1);
    if (!want.open) {
      await serverClosed;
      expect(g.gate.handshakes).toBe(0);
    }
    expect(g.gate.connections).toBe(want.open ? 1 : 0);
  });

  it('without a handshake timeout, nothing times a connection out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const g = await start({ maxConnections: 10, handshake: true });
    await g.connect();
    await g.handedOn(1);
    vi.advanceTimersByTime(60_000);
    expect(g.limits).toEqual([]);
    expect(g.handled[0]?.socket.destroyed).toBe(false);
    g.handled[0]?.ticket.handshakeDone();
    expect(g.gate.handshakes).toBe(0);
  });
});
