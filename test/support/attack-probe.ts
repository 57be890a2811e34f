// What the hardening suites watch while they attack a real ztunnel process: its resident memory
// (sampled from /proc, peak kept), a legitimate tunnel through node-1's SOCKS5 front door to an
// echo pod behind node-2, /healthz/ready, and the value of one metric. Bounded in time throughout.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { socks5Connect } from './socks5-client.js';
import type { ZtunnelProcess } from './ztunnel-process.js';

/** Resident set size of a process in MiB (VmRSS), or 0 once it is gone. */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 100 ms until stop(); returns the peak in MiB. */
export function watchRss(pid: number | undefined): { stop(): number; peak(): number } {
  let peak = rssMb(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(t);
      return Math.max(peak, rssMb(pid));
    },
  };
}

/**
 * One legitimate tunnel: SOCKS5 on `socks` from `from` to `target`, a short round trip, closed.
 * Resolves with the time it took, rejects after `timeoutMs`.
 */
export async function legitRoundTrip(
  socks: { host: string; port: number },
  target: { ip: string; port: number },
  from: string,
  timeoutMs = 5_000,
): Promise<number> {
  const started = Date.now();
  let s: net.Socket | undefined;
  const work = (async () => {
    s = await socks5Connect(socks, target, from);
    const sock = s;
    const got = new Promise<string>((resolve, reject) => {
      let b = '';
      sock.on('data', (d: Buffer) => (b += d.toString()));
      sock.on('end', () => resolve(b));
      sock.on('error', reject);
      sock.resume();
    });
    sock.end('legit');
    if ((await got) !== 'legit') throw new Error('legit round trip: wrong echo');
    return Date.now() - started;
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      s?.destroy();
      reject(new Error(`legit round trip took over ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Status of /healthz/ready on 15021. */
export async function readyStatus(z: ZtunnelProcess): Promise<number> {
  return (await z.get('/healthz/ready', 15021).catch(() => ({ status: 0 }))).status;
}

/** The value of a metric line whose name and labels match (sum over matching lines). */
export function metricValue(body: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Opens `n` TCP connections to host:port that never send a byte; resolves when all are settled. */
export async function idleConnections(
  host: string,
  port: number,
  n: number,
  localAddress?: string,
): Promise<{ sockets: net.Socket[]; connected: number; closedByServer: () => number }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  let connected = 0;
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () => {
        return new Promise<void>((resolve) => {
          const s = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
          sockets.push(s);
          s.on('error', () => undefined);
          s.once('close', () => {
            closed++;
            resolve();
          });
          s.once('connect', () => {
            connected++;
            resolve();
          });
        });
      }),
    );
  }
  return { sockets, connected, closedByServer: () => closed };
}

/** A line of the ztunnel's JSON log whose `msg` matches. */
export function logLines(z: ZtunnelProcess, msg: RegExp): Record<string, unknown>[] {
  return z.logs.filter((l) => typeof l.msg === 'string' && msg.test(l.msg));
}
