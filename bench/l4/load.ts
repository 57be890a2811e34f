// The load generator of bench/l4: throughput (one stream, 32 streams), paced 1 KB round trips
// (p50/p99 at a fixed rate), new connection + first round trip, and idle tunnels. Dials either
// directly or through a SOCKS5 front door (the ztunnel's outbound path dialled explicitly).
import net from 'node:net';

export interface Dialer {
  /** Opens a connection to `target`, ready for bytes. */
  dial(target: { ip: string; port: number }): Promise<net.Socket>;
}

export function directDialer(localAddress?: string): Dialer {
  return {
    dial: (t) =>
      new Promise((resolve, reject) => {
        const s = net.connect({
          host: t.ip,
          port: t.port,
          noDelay: true,
          allowHalfOpen: true,
          ...(localAddress ? { localAddress } : {}),
        });
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      }),
  };
}

/** Plain TCP to a fixed proxy address (nginx listens for one upstream per port). */
export function fixedDialer(proxy: { ip: string; port: number }, localAddress?: string): Dialer {
  const d = directDialer(localAddress);
  return { dial: () => d.dial(proxy) };
}

export function socks5Dialer(proxy: { ip: string; port: number }, localAddress: string): Dialer {
  const d = directDialer(localAddress);
  return {
    dial: async (t) => {
      const s = await d.dial(proxy);
      const req = Buffer.alloc(13);
      req.set([5, 1, 0, 5, 1, 0, 1], 0); // greeting + CONNECT IPv4 sent together
      t.ip.split('.').forEach((o, i) => (req[7 + i] = Number(o)));
      req.writeUInt16BE(t.port, 11);
      s.write(req);
      const rep = await readExactly(s, 12);
      if (rep[1] !== 0 || rep[3] !== 0) throw new Error(`SOCKS5 refused (${rep[3]})`);
      return s;
    },
  };
}

export function readExactly(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      parts.push(c);
      got += c.length;
      if (got >= n) {
        s.off('data', onData);
        s.off('error', reject);
        const all = Buffer.concat(parts);
        if (all.length > n) s.unshift(all.subarray(n));
        resolve(all.subarray(0, n));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** Sends `bytes` on each of `streams` connections to the sink; returns Gbit/s of the whole. */
export async function throughput(
  d: Dialer,
  sink: { ip: string; port: number },
  streams: number,
  bytesPerStream: number,
): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const socks = await Promise.all(Array.from({ length: streams }, () => d.dial(sink)));
  const started = process.hrtime.bigint();
  await Promise.all(
    socks.map(async (s) => {
      const ack = readExactly(s, 8);
      let left = bytesPerStream;
      while (left > 0) {
        const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= c.length;
        if (!s.write(c)) await new Promise((r) => s.once('drain', r));
      }
      s.end();
      const n = Number((await ack).readBigUInt64BE());
      if (n !== bytesPerStream) throw new Error(`sink got ${n} of ${bytesPerStream} bytes`);
      s.destroy();
    }),
  );
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  return (streams * bytesPerStream * 8) / secs / 1e9;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** 1 KB request/response on one connection, paced at `rate`/s for `seconds`; returns µs p50/p99. */
export async function pacedLatency(
  d: Dialer,
  echo: { ip: string; port: number },
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const s = await d.dial(echo);
  const req = Buffer.alloc(1024, 0x62);
  // warm up
  for (let i = 0; i < 50; i++) {
    s.write(req);
    await readExactly(s, 1024);
  }
  const samples: number[] = [];
  const sentAt: bigint[] = [];
  let pending = 0;
  let buffered = 0;
  s.on('data', (c: Buffer) => {
    buffered += c.length;
    while (buffered >= 1024) {
      buffered -= 1024;
      const t0 = sentAt.shift()!;
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      pending--;
    }
  });
  const total = rate * seconds;
  const start = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000));
    while (sent < due) {
      sentAt.push(process.hrtime.bigint());
      s.write(req);
      pending++;
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 5_000;
  while (pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  s.destroy();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), n: samples.length };
}

/** Sequential new connections, each doing one 1 KB round trip; returns ms p50/p99. */
export async function newConnection(
  d: Dialer,
  echo: { ip: string; port: number },
  n: number,
): Promise<{ p50: number; p99: number }> {
  const req = Buffer.alloc(1024, 0x63);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const s = await d.dial(echo);
    s.write(req);
    await readExactly(s, 1024);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    s.destroy();
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Opens `n` connections, each with one round trip, and keeps them open; returns a closer. */
export async function idleTunnels(
  d: Dialer,
  echo: { ip: string; port: number },
  n: number,
): Promise<() => void> {
  const socks: net.Socket[] = [];
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async () => {
        const s = await d.dial(echo);
        s.write('x');
        await readExactly(s, 1);
        return s;
      }),
    );
    socks.push(...opened);
  }
  return () => socks.forEach((s) => s.destroy());
}
