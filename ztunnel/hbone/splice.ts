// Joins two byte streams (a TCP socket and an HBONE stream, or two TCP sockets) both ways with
// backpressure (pipe: pause on write() === false, resume on drain), half-close (EOF -> end(), which
// is FIN on TCP and an empty DATA+END_STREAM on h2) and reset propagation (a TCP reset or an h2
// RST_STREAM other than NO_ERROR/CANCEL resets the other leg; NO_ERROR/CANCEL reads as EOF).
// Never cuts a quiet connection unless an idle timeout is given.
import { Socket } from 'node:net';
import { constants as h2c, type Http2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';

export const TCP_KEEPALIVE_MS = 60_000;

export type SpliceOutcome = 'eof' | 'reset' | 'idle-timeout';

export interface SpliceResult {
  outcome: SpliceOutcome;
  /** bytes from the client side towards the server side (Istio: received during request) */
  received: number;
  /** bytes from the server side back to the client side (Istio: sent during response) */
  sent: number;
  error?: Error;
}

type Leg = Socket | Http2Stream;

function isH2(l: Leg): l is Http2Stream {
  return !(l instanceof Socket);
}

function reset(l: Leg): void {
  if (l.destroyed) return;
  if (isH2(l)) {
    if (!l.closed) l.close(h2c.NGHTTP2_CONNECT_ERROR);
  } else l.resetAndDestroy();
}

function counting(from: Duplex, add: (n: number) => void): void {
  from.on('data', (c: Buffer) => add(c.length));
}

/** Splices `client` (the side that opened the connection) with `server`. */
export function splice(
  client: Leg,
  server: Leg,
  opts: { idleTimeoutMs?: number } = {},
): Promise<SpliceResult> {
  return new Promise((resolve) => {
    let received = 0;
    let sent = 0;
    let outcome: SpliceOutcome = 'eof';
    let error: Error | undefined;
    let closed = 0;
    const onClosed = () => {
      if (++closed === 2) resolve({ outcome, received, sent, ...(error ? { error } : {}) });
    };
    for (const l of [client, server]) {
      if (!isH2(l)) {
        l.setKeepAlive(true, TCP_KEEPALIVE_MS);
        l.setNoDelay(true);
      }
    }
    // Counting with 'data' listeners adds no copy: pipe uses the same events.
    counting(client as Duplex, (n) => (received += n));
    counting(server as Duplex, (n) => (sent += n));

    const wire = (from: Leg, to: Leg) => {
      from.on('error', (e: Error) => {
        error ??= e;
      });
      from.on('close', (hadError?: boolean) => {
        const h2Abnormal =
          isH2(from) &&
          from.rstCode !== undefined &&
          from.rstCode !== h2c.NGHTTP2_NO_ERROR &&
          from.rstCode !== h2c.NGHTTP2_CANCEL;
        const tcpAbnormal = !isH2(from) && hadError === true;
        if (h2Abnormal || tcpAbnormal || (error && !from.readableEnded)) {
          if (outcome !== 'idle-timeout') outcome = 'reset';
          reset(to);
        } else if (!to.destroyed) {
          // Clean close: what the other side still sends has nowhere to go; finish it politely.
          if (!to.writableEnded) to.end();
          if (!to.readableEnded) {
            to.unpipe();
            to.resume();
          }
          if (isH2(to)) to.once('end', () => to.close());
          else to.once('end', () => to.destroy());
        }
        onClosed();
      });
      (from as Duplex).pipe(to as Duplex);
    };
    wire(client, server);
    wire(server, client);

    if (opts.idleTimeoutMs && opts.idleTimeoutMs > 0) {
      const tcp = !isH2(client) ? client : !isH2(server) ? server : undefined;
      if (tcp) {
        tcp.setTimeout(opts.idleTimeoutMs, () => {
          outcome = 'idle-timeout';
          reset(client);
          reset(server);
        });
      }
    }
  });
}
