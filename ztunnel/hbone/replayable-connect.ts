// Opens an HBONE tunnel for a client socket and sends the CONNECT again, once, on a fresh
// connection when the server refused it unprocessed (RST_STREAM REFUSED_STREAM, a stream above
// a GOAWAY's last stream id, or a pooled session that was already closing; RFC 9113 §8.7). That
// is what a destination ztunnel that is draining for an upgrade answers to a CONNECT it read after
// its GOAWAY left: without the retry the client saw a reset before its first byte.
//
// Captured clients (no SOCKS5 reply to wait for) may send before the server's 200. Their first
// bytes ride behind the CONNECT as before, but a copy is kept (at most EARLY_REPLAY_LIMIT; past
// it the socket is paused until the answer) so a refused CONNECT can be replayed with them, and a
// FIN that came before the answer is replayed as END_STREAM. Once the server answers 200 the copy
// is dropped and the caller splices the socket and the stream from where the early copy ended.
import type { Socket } from 'node:net';
import type { ClientHttp2Stream } from 'node:http2';
import { isUnprocessed, type HboneTunnelError } from './tunnel-error.js';
import { CONNECT_ATTEMPTS, type HbonePool, type HboneTarget } from './hbone-pool.js';

/** Client bytes held for a replay before the answer; the socket waits (paused) beyond it. */
export const EARLY_REPLAY_LIMIT = 64 * 1024;

export interface OpenedTunnel {
  stream: ClientHttp2Stream;
  /** client bytes already written to the stream before the answer (count them as received) */
  earlyBytes: number;
  /** CONNECTs sent (1, or 2 after a replay) */
  attempts: number;
}

export interface ReplayOptions {
  /** forward the client's bytes before the 200 (captured clients); false waits for the answer first */
  early: boolean;
  /** called before a replay with the refusal that caused it */
  onReplay?: (err: HboneTunnelError) => void;
}

/**
 * Opens the tunnel (resolves once the server answered 200), replaying an unprocessed refusal once.
 * Rejects with the last attempt's error; the socket is left as it is (the caller refuses it).
 */
export async function openReplayable(
  pool: HbonePool,
  target: HboneTarget,
  client: Socket,
  opts: ReplayOptions,
): Promise<OpenedTunnel> {
  if (!opts.early) {
    // nothing is forwarded before the answer: the pool's own replay is all it takes
    let attempts = 1;
    const stream = await pool.open(target, (err) => {
      attempts++;
      opts.onReplay?.(err);
    });
    return { stream, earlyBytes: 0, attempts };
  }
  const held: Buffer[] = [];
  let heldBytes = 0;
  let ended = false;
  let current: ClientHttp2Stream | undefined;
  const onData = (chunk: Buffer) => {
    held.push(chunk);
    heldBytes += chunk.length;
    if (current && !current.destroyed) current.write(chunk);
    if (heldBytes >= EARLY_REPLAY_LIMIT) client.pause();
  };
  const onEnd = () => {
    ended = true;
    if (current && !current.destroyed) current.end();
  };
  // the client went away while waiting: cancel the CONNECT in flight (its answer then rejects)
  const onClose = () => {
    if (current && !current.destroyed) current.close();
  };
  client.on('data', onData);
  client.once('end', onEnd);
  client.once('close', onClose);
  // a socket accepted paused (pauseOnConnect) or held by the caller starts reading here
  client.resume();
  const detach = () => {
    client.pause();
    client.off('data', onData);
    client.off('end', onEnd);
    client.off('close', onClose);
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const { stream, response } = await pool.openEarly(target);
      current = stream;
      for (const chunk of held) stream.write(chunk);
      if (ended) stream.end();
      if (client.destroyed) stream.close();
      try {
        await response;
        detach();
        return { stream, earlyBytes: heldBytes, attempts: attempt };
      } catch (err) {
        current = undefined;
        if (attempt >= CONNECT_ATTEMPTS || !isUnprocessed(err) || client.destroyed) throw err;
        opts.onReplay?.(err);
      }
    }
  } catch (err) {
    detach();
    throw err;
  }
}
