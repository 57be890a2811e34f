// A stand-in for the ztunnel's capture listener, for kernel tests that run without the real
// ztunnel: listens on <mesh address>:15001 in the node netns, looks up each accepted
// connection's original destination in the node's pinned map (core/bpf-maps, one bpf syscall),
// logs one JSON line {orig, src, lookupNs} and relays the bytes to that destination in
// plaintext (no mTLS: this is a kernel test fixture, not a proxy to ship).
// Usage: node capture-stub.js <node> <address> <port>
import net from 'node:net';
import { openOriginalDestinationMap } from '../core/bpf-maps/original-destination.js';

const [node = '', address = '169.254.7.1', portText = '15001'] = process.argv.slice(2);
const origMap = openOriginalDestinationMap(node);

net
  .createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => undefined);
    const t0 = process.hrtime.bigint();
    const orig = origMap.lookup(client.remoteAddress ?? '', client.remotePort ?? 0);
    const lookupNs = Number(process.hrtime.bigint() - t0);
    process.stdout.write(
      JSON.stringify({ orig: orig ?? null, src: `${client.remoteAddress}:${client.remotePort}`, lookupNs }) +
        '\n',
    );
    if (!orig) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: orig.ip, port: orig.port, allowHalfOpen: true });
    // end propagates through pipe() (half-close kept); errors tear both sides down
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  })
  .listen(Number(portText), address, () => process.stdout.write('ready\n'));

process.on('SIGTERM', () => process.exit(0));
