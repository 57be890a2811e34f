// A one-shot TCP client run inside a pod (its netns and cgroup) by tests and the demo: connects
// to host:port with a short timeout, sends a payload, reads until EOF or `--expect` bytes, and
// prints one JSON line {ok, bytes, ms, reply|error}. A dropped SYN shows as a timeout.
// Usage: node pod-client.js <host> <port> [--send TEXT] [--http PATH] [--timeout MS]
//        [--expect N] [--delay-ms MS (pause between reads, to slow a bulk transfer)] [--local-address IP]
import net from 'node:net';

const [host = '', portText = ''] = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const timeoutMs = Number(arg('timeout') ?? 2000);
const expect = arg('expect') === undefined ? undefined : Number(arg('expect'));
const delayMs = Number(arg('delay-ms') ?? 0);
const httpPath = arg('http');
const payload = httpPath
  ? `GET ${httpPath} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
  : (arg('send') ?? 'ping\n');

const started = process.hrtime.bigint();
const ms = (): number => Number(process.hrtime.bigint() - started) / 1e6;
let bytes = 0;
const head: Buffer[] = [];
let done = false;

const finish = (result: Record<string, unknown>): void => {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify({ ...result, bytes, ms: Math.round(ms()) }) + '\n');
  process.exit(result.ok ? 0 : 1);
};

const localAddress = arg('local-address');
const sock = net.connect({ host, port: Number(portText), ...(localAddress ? { localAddress } : {}) });
const connectTimer = setTimeout(() => {
  sock.destroy();
  finish({ ok: false, error: 'connect timeout' });
}, timeoutMs);
sock.on('connect', () => {
  clearTimeout(connectTimer);
  sock.write(payload);
  if (expect === undefined && !httpPath) sock.end();
});
sock.on('data', (c: Buffer) => {
  bytes += c.length;
  if (head.length < 16) head.push(c.subarray(0, 4096));
  if (delayMs > 0) {
    sock.pause();
    setTimeout(() => sock.resume(), delayMs);
  }
});
sock.on('end', () => {
  const ok = expect === undefined || bytes >= expect;
  finish({ ok, reply: Buffer.concat(head).toString('utf8').slice(0, 2000) });
});
sock.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }));
