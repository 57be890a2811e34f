// A stand-in for the ztunnel's capture listener, for kernel tests that run without the real
// ztunnel: listens on <mesh address>:15001 in the node netns, looks up each accepted
// connection's original destination in the node's pinned map (core/bpf-maps, one bpf syscall),
// logs one JSON line {orig, src, lookupNs} and relays the bytes to that destination in
// plaintext (no mTLS: this is a kernel test fixture, not a proxy to ship).
// With `--fixed PORT=IP:PORT` it also listens on <address>:PORT and relays every connection to
// IP:PORT without any lookup: the same relay dialled explicitly, which is how bench/redirect
// isolates the cost of the kernel redirect plus the lookup.
// Usage: node capture-stub.js <node> <address> <port> [--fixed PORT=IP:PORT]... [--quiet]
import net from 'node:net';
import { openOriginalDestinationMap } from '../core/bpf-maps/original-destination.js';

const [node = '', address = '169.254.7.1', portText = '15001'] = process.argv.slice(2);
const origMap = openOriginalDestinationMap(node);

function relay(client: net.Socket, to: { ip: string; port: number }): void {
  const upstream = net.connect({ host: to.ip, port: to.port, allowHalfOpen: true });
  // end propagates through pipe() (half-close kept); errors tear both sides down
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}

const quiet = process.argv.includes('--quiet');
const fixed = process.argv
  .map((a, i) => (a === '--fixed' ? /^(\d+)=([\d.]+):(\d+)$/.exec(process.argv[i + 1] ?? '') : null))
  .filter((m): m is RegExpExecArray => m !== null);

net
  .createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => undefined);
    const t0 = process.hrtime.bigint();
    const orig = origMap.lookup(client.remoteAddress ?? '', client.remotePort ?? 0);
    const lookupNs = Number(process.hrtime.bigint() - t0);
    if (!quiet) {
      process.stdout.write(
        JSON.stringify({
          orig: orig ?? null,
          src: `${client.remoteAddress}:${client.remotePort}`,
          lookupNs,
        }) + '\n',
      );
    }
    if (!orig) {
      client.destroy();
      return;
    }
    relay(client, orig);
  })
  .listen(Number(portText), address, () => {
    if (fixed.length === 0) process.stdout.write('ready\n');
  });

let fixedReady = 0;
for (const f of fixed) {
  const to = { ip: f[2] ?? '', port: Number(f[3]) };
  net
    .createServer({ allowHalfOpen: true }, (client) => {
      client.on('error', () => undefined);
      relay(client, to);
    })
    .listen(Number(f[1]), address, () => {
      if (++fixedReady === fixed.length) process.stdout.write('ready\n');
    });
}

process.on('SIGTERM', () => process.exit(0));
