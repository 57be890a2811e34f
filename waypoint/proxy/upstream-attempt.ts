// One attempt of a request to one endpoint: HTTP/1.1 over a pooled keep-alive HBONE tunnel, or
// an HTTP/2 stream on the endpoint's session. Resolves with the response head (the body streams
// afterwards) or with how it failed, classified the way the retry policy reads it: the upstream
// never reached (connect-failure), reset before a response head (and whether any of the request
// could have reached the app), or the per-try timeout.
import http from 'node:http';
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Duplex, Readable } from 'node:stream';
import { isIdempotent, type AttemptOutcome } from '../resilience/retry-policy.js';
import { WaypointError } from '../errors.js';
import type { Lease } from '../../core/proxy/proxy-lifecycle.js';
import { UpstreamPool, type UpstreamEndpoint } from '../upstream/upstream-pool.js';
import { StreamSocket } from '../net/stream-socket.js';
import type { RequestBody } from './request-body.js';
import type { Cancellation } from '../net/cancel-signal.js';

export interface AttemptRequest {
  method: string;
  /** path with query */
  path: string;
  authority: string;
  /** lower-case, without hop-by-hop and pseudo headers */
  headers: OutgoingHttpHeaders;
  protocol: 'http1' | 'http2';
  body: RequestBody;
  /** Whether this attempt may take the body live (the first attempt) or needs it whole. */
  live: boolean;
  /** Aborted when the client went away: the attempt stops at once. */
  signal?: Cancellation;
}

/** Connection-pool limits of the Service (TrafficPolicy connectionPool), for HTTP/1.1 upstreams. */
export interface AttemptLimits {
  /** Upstream connections per endpoint (tcp.maxConnections); unset: unlimited. */
  maxConnections?: number | undefined;
  /** Requests per connection (http.maxRequestsPerConnection); unset or 0: unlimited. */
  maxRequestsPerConnection?: number | undefined;
  /** A lease while the request waits for a connection; 'overflow' when too many wait. */
  pending?: () => Lease | 'overflow';
}

export type AttemptResult =
  | {
      kind: 'response';
      status: number;
      headers: IncomingHttpHeaders;
      body: Readable;
      /** Trailers (HTTP/2), once the body ended. */
      trailers: () => IncomingHttpHeaders | undefined;
      /** Stops the response (client gone, whole-request timeout). */
      abort(): void;
    }
  | { kind: 'failure'; outcome: Exclude<AttemptOutcome, { kind: 'response' }>; detail: string }
  /** Every connection busy and too many requests already waiting: 503 with flag UO, not retried. */
  | { kind: 'overflow'; detail: string };

/** Headers of a hop that never cross a proxy (RFC 9110 §7.6.1), plus HTTP/2's own. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
]);

export function endToEndHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // headers the Connection header names are hop-by-hop too (rare: most requests name none)
  const connection = h.connection;
  const named =
    connection === undefined
      ? undefined
      : String(connection)
          .toLowerCase()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const k in h) {
    const v = h[k];
    if (v === undefined || k.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(k) || named?.includes(k))
      continue;
    out[k] = v;
  }
  return out;
}

function connectFailure(err: unknown): boolean {
  return err instanceof WaypointError && err.code === 'WP_UPSTREAM_CONNECT';
}

export function sendAttempt(
  pool: UpstreamPool,
  endpoint: UpstreamEndpoint,
  req: AttemptRequest,
  timeoutMs: number | undefined,
  limits: AttemptLimits = {},
): Promise<AttemptResult> {
  return req.protocol === 'http2'
    ? sendH2(pool, endpoint, req, timeoutMs)
    : sendH1(pool, endpoint, req, timeoutMs, limits);
}

function sendH1(
  pool: UpstreamPool,
  endpoint: UpstreamEndpoint,
  req: AttemptRequest,
  timeoutMs: number | undefined,
  limits: AttemptLimits,
): Promise<AttemptResult> {
  const agent = pool.agent(endpoint, limits.maxConnections);
  let pending: Lease | undefined;
  if (limits.pending && UpstreamPool.saturated(agent)) {
    const lease = limits.pending();
    if (lease === 'overflow')
      return Promise.resolve({
        kind: 'overflow',
        detail: `every connection to ${endpoint.ip}:${endpoint.port} is busy and the pending-request limit is reached`,
      });
    pending = lease;
  }
  const maxRequestsPerConnection = limits.maxRequestsPerConnection;
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let wrote = false;
    let reused = false;
    let peerEnded = false;
    let endedBeforeUse = false;
    const onPeerEnd = (): void => {
      peerEnded = true;
    };
    let assigned: Duplex | undefined;
    const done = (r: AttemptResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      assigned?.off('end', onPeerEnd);
      pending?.release();
      req.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const out = http.request({
      agent,
      method: req.method,
      path: req.path,
      headers: { ...req.headers, host: req.authority },
    });
    out.on('socket', (s) => {
      pending?.release();
      reused = out.reusedSocket;
      const requests = pool.noteRequest(s);
      if (maxRequestsPerConnection && requests >= maxRequestsPerConnection) out.shouldKeepAlive = false;
      assigned = s;
      endedBeforeUse = s instanceof StreamSocket && s.peerEnded;
      s.once('end', onPeerEnd);
      wrote = true;
    });
    const onAbort = (): void => {
      out.destroy();
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: wrote },
        detail: 'the client went away',
      });
    };
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        out.destroy();
        done({
          kind: 'failure',
          outcome: { kind: 'timeout', requestSent: wrote },
          detail: `no response within ${timeoutMs} ms`,
        });
      }, timeoutMs);
    }
    out.on('response', (res) => {
      done({
        kind: 'response',
        status: res.statusCode ?? 502,
        headers: res.headers,
        body: res,
        trailers: () => (Object.keys(res.trailers).length ? res.trailers : undefined),
        abort: () => out.destroy(),
      });
    });
    out.on('error', (err) => {
      if (connectFailure(err)) {
        done({ kind: 'failure', outcome: { kind: 'connect-failure' }, detail: err.message });
        return;
      }
      // The keep-alive race: a reused connection the app had closed (EOF) before this request
      // reached it. Anything else after the socket was assigned may have reached the app.
      // node:http reports the end ('socket hang up') from its own 'end' listener, which runs
      // before ours: read the socket's state, not only our flag
      // The keep-alive race: a reused connection the app had closed. Certain when its end had
      // arrived before this request took the socket; when it arrives after, the app may have read
      // the request, so only an idempotent method counts it as not sent. (node:http reports the
      // end, 'socket hang up', from its own 'end' listener, before ours: read the socket state.)
      const ended = peerEnded || assigned?.readableEnded === true;
      const notSent = reused && (endedBeforeUse || (ended && isIdempotent(req.method)));
      done({ kind: 'failure', outcome: { kind: 'reset', requestSent: !notSent }, detail: err.message });
    });
    if (!req.body.writeTo(out, { live: req.live })) {
      out.destroy();
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: true },
        detail: 'the request body was not kept whole, so it cannot be sent again',
      });
    }
  });
}

async function sendH2(
  pool: UpstreamPool,
  endpoint: UpstreamEndpoint,
  req: AttemptRequest,
  timeoutMs: number | undefined,
): Promise<AttemptResult> {
  let session: http2.ClientHttp2Session;
  try {
    session = await pool.session(endpoint);
  } catch (err) {
    return { kind: 'failure', outcome: { kind: 'connect-failure' }, detail: (err as Error).message };
  }
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let abortHandler: (() => void) | undefined;
    const done = (r: AttemptResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (abortHandler) req.signal?.removeEventListener('abort', abortHandler);
      resolve(r);
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ...req.headers,
        ':method': req.method,
        ':path': req.path,
        ':authority': req.authority,
        ':scheme': 'http',
      });
    } catch (err) {
      pool.forgetSession(endpoint);
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: false },
        detail: (err as Error).message,
      });
      return;
    }
    const onAbort = (): void => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: true },
        detail: 'the client went away',
      });
    };
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    abortHandler = onAbort;
    abortHandler = onAbort;
    let trailers: IncomingHttpHeaders | undefined;
    stream.on('trailers', (t) => (trailers = t));
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        done({
          kind: 'failure',
          outcome: { kind: 'timeout', requestSent: true },
          detail: `no response within ${timeoutMs} ms`,
        });
      }, timeoutMs);
    }
    stream.on('response', (headers) => {
      done({
        kind: 'response',
        status: Number(headers[':status'] ?? 502),
        headers,
        body: stream,
        trailers: () => trailers,
        abort: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      });
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (settled) return;
      // REFUSED_STREAM: the server did not process the stream at all (RFC 9113 §8.7)
      const refused = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
      if (session.destroyed || session.closed) pool.forgetSession(endpoint);
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: !refused },
        detail: `stream closed before a response (code ${stream.rstCode ?? 'none'})`,
      });
    });
    if (!req.body.writeTo(stream, { live: req.live })) {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      done({
        kind: 'failure',
        outcome: { kind: 'reset', requestSent: true },
        detail: 'the request body was not kept whole, so it cannot be sent again',
      });
    }
  });
}
