// The ztunnel's HTTP admin ports: 15020 serves /metrics (Prometheus text from the private
// registry), /config_dump and /workloads (debug JSON, loopback only: DESIGN §4); 15021 serves
// /healthz/ready, 200 once the ztunnel has a snapshot and its node certificate, else 503. Both
// bound what an idle or slow client can hold (header and request timeouts, a connection cap).
import http from 'node:http';
import { normalizeAddress } from '../net/peer-address.js';

export interface AdminSources {
  metrics: () => Promise<{ contentType: string; body: string }>;
  configDump: () => unknown;
  workloads: () => unknown;
  /** configDump/workloads may answer asynchronously (a primary asking a worker). */
  ready: () => boolean;
}

/** Connections one admin listener holds at most; an HTTP client needs a handful. */
export const ADMIN_MAX_CONNECTIONS = 256;
/** A request's headers (and the whole request) must arrive within this. */
export const ADMIN_REQUEST_TIMEOUT_MS = 5_000;

function isLoopbackAddress(a: string | undefined): boolean {
  if (!a) return false;
  const v4 = normalizeAddress(a);
  return v4 === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v4);
}

/**
 * Debug paths answer only a client on loopback talking to a loopback address. Both ends count: a
 * request from the node itself to the node's own address (10.0.0.5 -> 10.0.0.5) is not loopback,
 * since any pod that can reach the node address could send the same. Pure.
 */
export function isLoopbackRequest(
  localAddress: string | undefined,
  remoteAddress: string | undefined,
): boolean {
  return isLoopbackAddress(localAddress) && isLoopbackAddress(remoteAddress);
}

function json(res: http.ServerResponse, v: unknown): void {
  void Promise.resolve(v).then((body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body, null, 2));
  });
}

function bounded(server: http.Server): http.Server {
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  server.headersTimeout = ADMIN_REQUEST_TIMEOUT_MS;
  server.requestTimeout = ADMIN_REQUEST_TIMEOUT_MS;
  return server;
}

export function createAdminServer(src: AdminSources): http.Server {
  return bounded(
    http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      const debug = url === '/config_dump' || url === '/workloads';
      if (debug && !isLoopbackRequest(req.socket.localAddress, req.socket.remoteAddress)) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end(`${url} answers on loopback only\n`);
        return;
      }
      switch (url) {
        case '/metrics':
          serveMetrics(res, src.metrics);
          return;
        case '/config_dump':
          return json(res, src.configDump());
        case '/workloads':
          return json(res, src.workloads());
        case '/healthz/ready':
          res.writeHead(src.ready() ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(src.ready() ? 'ready\n' : 'not ready\n');
          return;
        default:
          res.writeHead(404);
          res.end('not found\n');
      }
    }),
  );
}

/** Answers a scrape with the exposition text, or 500 naming why it could not be made. */
function serveMetrics(
  res: http.ServerResponse,
  metrics: () => Promise<{ contentType: string; body: string }>,
): void {
  metrics().then(
    (m) => {
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(m.body);
    },
    (err: Error) => {
      res.writeHead(500);
      res.end(err.message);
    },
  );
}

/**
 * A listener that serves only `/metrics` (the waypoint's 15090), with the same connection and
 * request-time bounds as the admin and readiness listeners.
 */
export function createMetricsServer(
  metrics: () => Promise<{ contentType: string; body: string }>,
): http.Server {
  return bounded(
    http.createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404);
        res.end('not found\n');
        return;
      }
      serveMetrics(res, metrics);
    }),
  );
}

export function createReadinessServer(ready: () => boolean): http.Server {
  return bounded(
    http.createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/healthz/ready') {
        res.writeHead(404);
        res.end('not found\n');
        return;
      }
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ready\n' : 'not ready\n');
    }),
  );
}
