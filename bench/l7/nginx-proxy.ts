// The baseline of bench/l7: Debian's nginx as an HTTP reverse proxy the way a mesh-less setup
// would run one: keep-alive upstream connections and a retry (proxy_next_upstream error timeout
// http_503, two tries). Started from a temp config and prefix; stops and removes both.
// Must not need a system nginx (it never touches /etc/nginx or /var/lib/nginx).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stopNginx } from '../l4/nginx-pair.js';

export interface NginxProxy {
  entry: { ip: string; port: number };
  /** The master and its workers (bench/l4/proc-stats tree() of the master). */
  pid: number;
  stop(): Promise<void>;
}

/** Why nginx cannot run here (with how to install it), or undefined when it can. */
export function nginxMissing(): string | undefined {
  const r = spawnSync('nginx', ['-v'], { stdio: 'ignore' });
  if (r.error || r.status !== 0)
    return 'nginx not found: `apt-get install nginx` (Debian; scripts/setup.sh installs it when run as root)';
  return undefined;
}

export function nginxConfig(o: {
  dir: string;
  listen: { ip: string; port: number };
  upstream: { ip: string; port: number };
  workers: number;
}): string {
  const up = `${o.upstream.ip}:${o.upstream.port}`;
  const d = (n: string) => path.join(o.dir, n);
  return `daemon off;
worker_processes ${o.workers};
pid ${d('nginx.pid')};
error_log ${d('error.log')} error;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${d('client_body')};
  proxy_temp_path ${d('proxy')};
  fastcgi_temp_path ${d('fastcgi')};
  uwsgi_temp_path ${d('uwsgi')};
  scgi_temp_path ${d('scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream backend {
    # the same endpoint twice: proxy_next_upstream retries on the next server, and with one entry
    # there is no next (the waypoint retries the same Service's endpoints the same way)
    server ${up} max_fails=0;
    server ${up} max_fails=0;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen ${o.listen.ip}:${o.listen.port} backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_503;
      proxy_next_upstream_tries 2;
    }
  }
}
`;
}

export async function startNginxProxy(o: {
  listen: { ip: string; port: number };
  upstream: { ip: string; port: number };
  workers: number;
}): Promise<NginxProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ambit-bench-l7-nginx-'));
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig({ dir, ...o }));
  const p: ChildProcess = spawn('nginx', ['-c', file, '-p', dir, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, 500);
      p.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`nginx exited ${code}: ${err}`));
      });
      p.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pid = p.pid;
  if (pid === undefined) throw new Error('nginx has no pid');
  return {
    entry: o.listen,
    pid,
    stop: async () => {
      await stopNginx(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
