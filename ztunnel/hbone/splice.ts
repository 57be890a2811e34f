// Joins two byte streams (a TCP socket and an HBONE stream, or two TCP sockets) both ways with
// bounded backpressure (stop reading the source once 1 MiB waits on a TCP destination or 256 KiB on
// an h2 stream, resume on drain), half-close (EOF -> end(), which
// is FIN on TCP and an empty DATA+END_STREAM on h2) and reset propagation (a TCP reset or an h2
// RST_STREAM other than NO_ERROR/CANCEL resets the other leg; NO_ERROR/CANCEL reads as EOF; an h2
// session that dies before a stream ended both ways resets it too, and so does a TCP reset that
// Node reported as EOF, told apart by SO_ERROR). TCP legs carry SO_LINGER 0
// (net/abortive-close.ts): destroy() is a reset, and a clean end goes through endGracefully().
// Never cuts a quiet connection unless an idle timeout is given.
import { Socket } from 'node:net';
import { constants as h2c, type Http2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { endGracefully, pendingSocketError, resetOnProcessDeath } from '../net/abortive-close.js';

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

/** An h2 stream ended by RST_STREAM with an error code (NO_ERROR and CANCEL read as EOF). */
function h2Reset(l: Leg): boolean {
  return (
    isH2(l) &&
    l.rstCode !== undefined &&
    l.rstCode !== h2c.NGHTTP2_NO_ERROR &&
    l.rstCode !== h2c.NGHTTP2_CANCEL
  );
}

/**
 * Watches whether an h2 leg's tunnel dies under it: its session is destroyed (the peer process died
 * and its TLS connection closed, a PING timeout, a local hard stop) before END_STREAM went both
 * ways. Node reads that as RST_STREAM CANCEL (socket closed) or NO_ERROR (session destroyed), both
 * of which would otherwise pass for EOF and end the TCP leg with a FIN: a client that had
 * half-closed would read a complete-looking reply with its tail missing. A reset is the truth.
 */
function tunnelDeath(l: Http2Stream): () => boolean {
  const session = l.session;
  let peerEnded = l.readableEnded;
  let weEnded = l.writableFinished;
  l.once('end', () => (peerEnded ||= session?.destroyed !== true));
  l.once('finish', () => (weEnded ||= session?.destroyed !== true));
  return () => session?.destroyed === true && !(peerEnded && weEnded);
}

/**
 * Resets a leg. An h2 stream is destroyed with an error, which sends RST_STREAM (INTERNAL_ERROR)
 * alone: Node's stream.close(code) first ends the writable side, so the peer would get an empty
 * DATA frame with END_STREAM (a clean EOF that it forwards as a FIN) just before the RST_STREAM.
 */
function reset(l: Leg): void {
  if (l.destroyed) return;
  if (isH2(l)) l.destroy(new Error('the other leg of the tunnel was reset'));
  else if (l.writableEnded) {
    // libuv refuses resetAndDestroy() while our FIN waits behind queued bytes (EINVAL: an 'error'
    // and never a 'close', the fd kept): linger 0 and a plain destroy() are the same reset
    resetOnProcessDeath(l);
    l.destroy();
  } else l.resetAndDestroy();
}

/**
 * Ends a leg's writable side: an h2 stream with END_STREAM, a TCP socket with a FIN after its
 * SO_LINGER 0 (net/abortive-close.ts: a reset if the process dies) is turned back off, so the close
 * that follows lets every queued byte out.
 */
function finish(l: Leg): void {
  if (isH2(l)) l.end();
  else endGracefully(l);
}

/**
 * Bytes a destination may hold queued before we stop reading its source. Larger than Node's 16 KiB
 * writable high-water mark on purpose: pausing at every 16 KiB made pipe() stop and restart the
 * source for nearly every 64 KiB read, which cost a round of callbacks per chunk at multi-Gbit/s.
 * Still bounded: a slow reader holds at most this much per direction in the ztunnel.
 */
export const FORWARD_HIGH_WATER = 1024 * 1024;

/**
 * The same towards an h2 stream, smaller: a peer that opens streams and never grants window (or
 * never reads) would otherwise make every stream hold FORWARD_HIGH_WATER in the ztunnel, 1 MiB
 * x 2,000 streams measured at 2.35 GB (issue 8). What the peer's window lets out is on the wire;
 * this is what waits behind it. The other direction is bounded by our own h2 receive windows.
 */
export const H2_FORWARD_HIGH_WATER = 256 * 1024;

/** Chunks at least this big start a coalescing window (bulk transfer); smaller ones are written at once. */
export const COALESCE_MIN_CHUNK = 8 * 1024;

/** Forwards from -> to with bounded buffering; counts bytes; ends `to` on EOF of `from`. */
function forward(from: Leg, to: Leg, add: (n: number) => void, discard: () => boolean): void {
  const src = from as Duplex;
  const dst = to as Duplex;
  const highWater = isH2(to) ? H2_FORWARD_HIGH_WATER : FORWARD_HIGH_WATER;
  let paused = false;
  let corked = false;
  const onDrain = () => {
    paused = false;
    src.resume();
  };
  // Coalescing: chunks that arrive in one event-loop turn (an h2 peer's DATA frames decrypted
  // from one TLS read arrive as several 16 KiB 'data' events) leave in one writev instead of one
  // write syscall each. Uncorked in setImmediate, i.e. before the loop next waits for I/O.
  const uncork = () => {
    corked = false;
    if (!dst.destroyed) dst.uncork();
  };
  src.on('data', (chunk: Buffer) => {
    add(chunk.length);
    if (discard() || dst.destroyed || dst.writableEnded) return;
    // Small chunks (request/response traffic) go out at once: coalescing only pays for bulk.
    if (!corked && chunk.length >= COALESCE_MIN_CHUNK) {
      corked = true;
      dst.cork();
      setImmediate(uncork);
    }
    dst.write(chunk);
    if (!paused && dst.writableLength >= highWater) {
      paused = true;
      src.pause();
      dst.once('drain', onDrain);
    }
  });
  // An aborted h2 stream also emits 'end' (Node pushes EOF when it closes a stream for a dead
  // session or an error RST_STREAM), before 'close': that is no EOF to pass on, the 'close' handler
  // resets the other leg instead.
  const session = isH2(from) ? from.session : undefined;
  const onEnd = () => {
    if (corked) uncork();
    if (isH2(from) && (session?.destroyed === true || h2Reset(from))) return;
    if (!dst.destroyed && !dst.writableEnded) finish(to);
  };
  // a FIN that arrived while the socket was held paused (a SOCKS5 client sending greeting,
  // CONNECT and FIN at once) was emitted before this listener existed: carry it now (fuzzing)
  if (src.readableEnded) onEnd();
  else src.on('end', onEnd);
  src.resume();
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
    let clientGone = false;
    let serverGone = false;

    const wire = (from: Leg, to: Leg) => {
      const died = isH2(from) ? tunnelDeath(from) : () => false;
      let resetReadAsEof = false;
      from.on('error', (e: Error) => {
        error ??= e;
      });
      if (!isH2(from)) {
        // Registered before forward()'s 'end' listener, so the other leg is reset before a FIN
        // could be sent for it.
        from.once('end', () => {
          const errno = pendingSocketError(from);
          if (errno === 0) return;
          resetReadAsEof = true;
          error ??= new Error(`connection ended by the kernel error ${errno} (a reset read as EOF)`);
          reset(to);
          from.destroy();
        });
      }
      from.on('close', (hadError?: boolean) => {
        const h2Abnormal = h2Reset(from) || died();
        const tcpAbnormal = !isH2(from) && (hadError === true || resetReadAsEof);
        if (h2Abnormal || tcpAbnormal || (error && !from.readableEnded)) {
          if (outcome !== 'idle-timeout') outcome = 'reset';
          reset(to);
        } else if (!to.destroyed) {
          // Clean close: what the other side still sends has nowhere to go; finish it politely.
          if (!to.writableEnded) finish(to);
          if (!to.readableEnded) (to as Duplex).resume();
          // A TCP leg closes itself once its peer's FIN is read and our FIN is out (autoDestroy);
          // a destroy() at its 'end' would drop what Node still queues for it, then FIN anyway.
          if (isH2(to)) to.once('end', () => to.close());
        }
        if (from === client) clientGone = true;
        else serverGone = true;
        onClosed();
      });
    };
    wire(client, server);
    wire(server, client);
    forward(
      client,
      server,
      (n) => (received += n),
      () => serverGone,
    );
    forward(
      server,
      client,
      (n) => (sent += n),
      () => clientGone,
    );

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
