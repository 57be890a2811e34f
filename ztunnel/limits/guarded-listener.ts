// A net.Server whose accepted connections pass a ConnectionGate first: refused ones are reset
// at once (and reported once per peer per minute by the caller), admitted ones are handed on with
// their ticket, which is released when the socket closes. With a handshake timeout, a connection
// that has not called ticket.handshakeDone() in time is closed and reported. Knows no protocol.
import net from 'node:net';
import type { ConnectionGate, GateTicket } from './connection-gate.js';
import type { LimitName } from './listener-limits.js';
import { normalizeAddress } from '../net/peer-address.js';

export interface GuardedListenerOptions {
  gate: ConnectionGate;
  serverOptions?: net.ServerOpts;
  /** The connection starts with a handshake counted against maxHandshakes. */
  handshake?: boolean;
  /** Close a connection whose handshake is not done in this time (the guard's own timer). */
  handshakeTimeoutMs?: number;
  onLimit: (limit: LimitName, source: string) => void;
  handle: (socket: net.Socket, ticket: GateTicket, source: string) => void;
}

export function guardedServer(o: GuardedListenerOptions): net.Server {
  return net.createServer(o.serverOptions ?? {}, (socket) => {
    const source = normalizeAddress(socket.remoteAddress);
    const a = o.gate.admit(source, o.handshake === true);
    if (a.kind === 'refuse') {
      o.onLimit(a.limit, source);
      socket.on('error', () => undefined);
      // a refusal is a reset (as Istio's ztunnel does): a FIN would let a client that already sent
      // its request and half-closed read a clean, empty reply
      socket.resetAndDestroy();
      return;
    }
    const { ticket } = a;
    if (!o.handshake || o.handshakeTimeoutMs === undefined) {
      // No timer to stop (the capture listeners, 15008): the gate's own ticket is handed on.
      socket.once('close', ticket.release);
      o.handle(socket, ticket, source);
      return;
    }
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      timer = undefined;
      o.onLimit('handshake-timeout', source);
      socket.destroy();
    }, o.handshakeTimeoutMs);
    timer.unref();
    const handshakeDone = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      ticket.handshakeDone();
    };
    socket.once('close', () => {
      if (timer) clearTimeout(timer);
      ticket.release();
    });
    o.handle(socket, { handshakeDone, release: ticket.release }, source);
  });
}
