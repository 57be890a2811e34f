// The ztunnel's HTTP admin ports: 15020 serves /metrics (Prometheus text from the private
// registry), /config_dump and /workloads (debug JSON); 15021 serves /healthz/ready, 200 once the
// ztunnel has a snapshot and its node certificate, else 503.
import http from 'node:http';

export interface AdminSources {
  metrics: () => Promise<{ contentType: string; body: string }>;
  configDump: () => unknown;
  workloads: () => unknown;
  /** configDump/workloads may answer asynchronously (a primary asking a worker). */
  ready: () => boolean;
}

function json(res: http.ServerResponse, v: unknown): void {
  void Promise.resolve(v).then((body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body, null, 2));
  });
}

export function createAdminServer(src: AdminSources): http.Server {
  return http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    switch (url) {
      case '/metrics':
        src.metrics().then(
          (m) => {
            res.writeHead(200, { 'content-type': m.contentType });
            res.end(m.body);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
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
  });
}

export function createReadinessServer(ready: () => boolean): http.Server {
  return http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/healthz/ready') {
      res.writeHead(404);
      res.end('not found\n');
      return;
    }
    const ok = ready();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ok ? 'ready\n' : 'not ready\n');
  });
}
