// HTTP/2 settings both HBONE ends share (DESIGN §3): 4 MiB stream window, 16 MiB connection
// window, PING every 10 s and drop after 20 s unanswered. Applied to a session once it is up.
import type { ClientHttp2Session, ServerHttp2Session, Settings } from 'node:http2';

export const STREAM_WINDOW = 4 * 1024 * 1024;
export const CONNECTION_WINDOW = 16 * 1024 * 1024;
export const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 20_000;
export const MAX_STREAMS_PER_CONNECTION = 100;
export const POOL_IDLE_MS = 5 * 60_000;
/** MB of outstanding data nghttp2 may hold per session before refusing streams (Node default 10). */
export const MAX_SESSION_MEMORY_MB = 256;

export const HBONE_SETTINGS: Settings = {
  initialWindowSize: STREAM_WINDOW,
  enablePush: false,
  maxFrameSize: 64 * 1024,
};

/** Opens the connection window and keeps a PING going; destroys a session that stops answering. */
export function tuneSession(
  session: ClientHttp2Session | ServerHttp2Session,
  opts: { pingIntervalMs?: number; pingTimeoutMs?: number } = {},
): void {
  try {
    session.setLocalWindowSize(CONNECTION_WINDOW);
  } catch {
    /* session already closing */
  }
  const interval = opts.pingIntervalMs ?? PING_INTERVAL_MS;
  const timeout = opts.pingTimeoutMs ?? PING_TIMEOUT_MS;
  let outstandingSince: number | undefined;
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return clearInterval(timer);
    const now = Date.now();
    if (outstandingSince !== undefined) {
      if (now - outstandingSince >= timeout) session.destroy(new Error('HBONE peer stopped answering PING'));
      return;
    }
    outstandingSince = now;
    try {
      session.ping((err) => {
        if (!err) outstandingSince = undefined;
      });
    } catch {
      outstandingSince = undefined;
    }
  }, interval);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
