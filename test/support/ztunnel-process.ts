// Test and bench helper: runs a real `ambit ztunnel` process (node dist/cli/main.js) and waits
// until 15021 says ready; collects its JSON log lines (access logs included).
import { jsonLogLines } from './json-log-lines.js';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { repoRoot } from '../../local-cluster/repo-root.js';
import { until } from './until.js';

export interface ZtunnelProcess extends ComponentProcess {
  /** Access-log entries so far. */
  access(): Record<string, unknown>[];
  get(pathname: string, port?: number): Promise<{ status: number; body: string }>;
}

export function httpGet(
  host: string,
  port: number,
  pathname: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: pathname, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

export async function startZtunnelProcess(o: {
  node: string;
  controller: string;
  stateDir: string;
  /** --token-file: the node's scoped token (default: the state dir's join-token). */
  tokenFile?: string | undefined;
  address: string;
  meshAddress?: string | undefined;
  socks5Port?: number | undefined;
  workers?: number | undefined;
  extraArgs?: string[] | undefined;
  logLevel?: string | undefined;
  readyTimeoutMs?: number | undefined;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[] | undefined;
}): Promise<ZtunnelProcess> {
  const args = [
    ...(o.nodeArgs ?? []),
    path.join(repoRoot(), 'dist/cli/main.js'),
    'ztunnel',
    '--node',
    o.node,
    '--controller',
    o.controller,
    '--state-dir',
    o.stateDir,
    '--address',
    o.address,
    '--mesh-address',
    o.meshAddress ?? o.address,
    '--workers',
    String(o.workers ?? 1),
    '--log-level',
    o.logLevel ?? 'info',
    ...(o.tokenFile ? ['--token-file', o.tokenFile] : []),
    ...(o.socks5Port ? ['--socks5', `${o.address}:${o.socks5Port}`] : []),
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  const w = await watchComponent(child, `ambit ztunnel ${o.node}`, o.address, o.readyTimeoutMs);
  return {
    ...w,
    access: () => w.logs.filter((l) => l.access !== undefined),
    get: (p, port = 15020) => httpGet(o.address, port, p),
  };
}

/** A spawned component process as a test holds it: its output, parsed log lines and stop(). */
export interface ComponentProcess {
  child: ChildProcess;
  address: string;
  logs: Record<string, unknown>[];
  output(): string;
  /** SIGTERM (it drains), SIGKILL after `killAfterMs` (default 6 s). */
  stop(killAfterMs?: number): Promise<void>;
}

/**
 * Collects a component's output and JSON log lines and waits until its readiness endpoint
 * (`address:15021/healthz/ready`) answers 200; kills it and throws with its last output if it
 * exits or is not ready within readyTimeoutMs (default 30 s).
 */
export async function watchComponent(
  child: ChildProcess,
  what: string,
  address: string,
  readyTimeoutMs = 30_000,
): Promise<ComponentProcess> {
  const logs: Record<string, unknown>[] = [];
  let all = '';
  const readLines = jsonLogLines((l) => logs.push(l));
  child.stdout?.on('data', (d: Buffer) => {
    const s = d.toString();
    all += s;
    readLines(s);
  });
  child.stderr?.on('data', (d: Buffer) => (all += d.toString()));
  try {
    await until(
      `${what} ready on ${address}:15021`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}`);
        const r = await httpGet(address, 15021, '/healthz/ready').catch(() => undefined);
        return r?.status === 200;
      },
      readyTimeoutMs,
      100,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}:\n${all.slice(-3000)}`, { cause: err });
  }
  return {
    child,
    address,
    logs,
    output: () => all,
    stop: (killAfterMs = 6_000) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
