// The load generator bench/redirect runs inside a pod (its netns and cgroup, so the pod's
// connect4 applies): sequential new connections each doing one 1 KB round trip, then one
// connection doing many 1 KB round trips. Prints one JSON line. Optional SOCKS5 (no auth,
// IPv4 CONNECT) to dial a proxy explicitly.
// Usage: node load-client.js <host> <port> <connections> <roundTrips> [socksHost:socksPort]
import net from 'node:net';

const [host = '', portText = '', connText = '200', rtText = '2000', socks] = process.argv.slice(2);
const port = Number(portText);
const payload = Buffer.alloc(1024, 0x78);

function readExactly(sock: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= n) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve(Buffer.concat(parts));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

async function open(): Promise<net.Socket> {
  const target = socks ? { host: socks.split(':')[0], port: Number(socks.split(':')[1]) } : { host, port };
  const sock = net.connect(target);
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  if (socks) {
    sock.write(Buffer.from([5, 1, 0]));
    await readExactly(sock, 2);
    const req = Buffer.alloc(10);
    req.set([5, 1, 0, 1], 0);
    host.split('.').forEach((o, i) => (req[4 + i] = Number(o)));
    req.writeUInt16BE(port, 8);
    sock.write(req);
    const rep = await readExactly(sock, 10);
    if (rep[1] !== 0) throw new Error(`socks5 reply ${rep[1]}`);
  }
  return sock;
}

async function roundTrip(sock: net.Socket): Promise<void> {
  const reply = readExactly(sock, payload.length);
  sock.write(payload);
  await reply;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

async function main(): Promise<void> {
  // warm-up
  for (let i = 0; i < 20; i++) {
    const s = await open();
    await roundTrip(s);
    s.destroy();
  }
  const conns: number[] = [];
  const t0 = now();
  for (let i = 0; i < Number(connText); i++) {
    const a = now();
    const s = await open();
    await roundTrip(s);
    conns.push(now() - a);
    s.destroy();
  }
  const connWall = now() - t0;
  const s = await open();
  const rts: number[] = [];
  for (let i = 0; i < Number(rtText); i++) {
    const a = now();
    await roundTrip(s);
    rts.push(now() - a);
  }
  s.destroy();
  conns.sort((a, b) => a - b);
  rts.sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      connPerSec: Math.round((conns.length / connWall) * 1e6),
      connP50us: Math.round(pct(conns, 50)),
      rttP50us: Math.round(pct(rts, 50)),
      rttP99us: Math.round(pct(rts, 99)),
    }) + '\n',
  );
  process.exit(0);
}

main().catch((err: Error) => {
  process.stdout.write(JSON.stringify({ error: err.message }) + '\n');
  process.exit(1);
});
