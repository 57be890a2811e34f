// The baseline of bench/l4: two nginx 1.22 instances (stream module) doing the same mutual-TLS
// hop as two ztunnels: A listens plain TCP and proxies over TLS 1.3 with a client certificate
// to B, which requires and verifies it against the mesh root and proxies to the upstream.
// One listener pair per upstream (nginx stream has no CONNECT). Started from a temp config.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface NginxPair {
  /** where the client dials, per upstream name */
  entry: Record<string, { ip: string; port: number }>;
  pids(): number[];
  stop(): Promise<void>;
}

function start(dir: string, name: string, conf: string): Promise<ChildProcess> {
  const file = path.join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  const p = spawn('nginx', ['-c', file, '-p', dir, '-e', path.join(dir, `${name}.err`)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(p), 500);
    p.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`nginx ${name} exited ${code}: ${err}`));
    });
  });
}

export async function startNginxPair(o: {
  a: string;
  b: string;
  upstreams: Record<string, { ip: string; port: number }>;
  basePort: number;
  client: IssuedCertificate;
  server: IssuedCertificate;
  workers: number;
}): Promise<NginxPair> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ambit-bench-nginx-'));
  const w = (n: string, s: string) => writeFileSync(path.join(dir, n), s);
  w('client.crt', o.client.certChainPem[0]!);
  w('client.key', o.client.keyPem);
  w('server.crt', o.server.certChainPem[0]!);
  w('server.key', o.server.keyPem);
  w('root.pem', o.client.rootPem);
  const head = (name: string) => `load_module ${STREAM_MODULE};
daemon off;
worker_processes ${o.workers};
pid ${path.join(dir, `${name}.pid`)};
error_log ${path.join(dir, `${name}.err`)} error;
events { worker_connections 16384; multi_accept on; }
`;
  const names = Object.keys(o.upstreams);
  const entry: Record<string, { ip: string; port: number }> = {};
  const aServers: string[] = [];
  const bServers: string[] = [];
  names.forEach((n, i) => {
    const pa = o.basePort + i;
    const pb = o.basePort + 100 + i;
    entry[n] = { ip: o.a, port: pa };
    aServers.push(`  server {
    listen ${o.a}:${pa} backlog=4096;
    proxy_pass ${o.b}:${pb};
    proxy_half_close on;
    proxy_ssl on;
    proxy_ssl_protocols TLSv1.3;
    proxy_ssl_certificate ${path.join(dir, 'client.crt')};
    proxy_ssl_certificate_key ${path.join(dir, 'client.key')};
    proxy_ssl_trusted_certificate ${path.join(dir, 'root.pem')};
    proxy_ssl_verify off;
    proxy_ssl_session_reuse on;
  }`);
    bServers.push(`  server {
    listen ${o.b}:${pb} ssl backlog=4096;
    ssl_protocols TLSv1.3;
    ssl_certificate ${path.join(dir, 'server.crt')};
    ssl_certificate_key ${path.join(dir, 'server.key')};
    ssl_client_certificate ${path.join(dir, 'root.pem')};
    ssl_verify_client on;
    proxy_half_close on;
    proxy_pass ${o.upstreams[n]!.ip}:${o.upstreams[n]!.port};
  }`);
  });
  const a = await start(dir, 'a', `${head('a')}stream {\n${aServers.join('\n')}\n}\n`);
  const b = await start(dir, 'b', `${head('b')}stream {\n${bServers.join('\n')}\n}\n`);
  return {
    entry,
    pids: () => [a.pid!, b.pid!],
    stop: async () => {
      for (const p of [a, b]) await stopNginx(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGQUIT (graceful) an nginx master, SIGKILL after 3 s; resolves once it exited. */
export async function stopNginx(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((r) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      r();
    }, 3_000);
    p.once('exit', () => {
      clearTimeout(t);
      r();
    });
    p.kill('SIGQUIT');
  });
}
