// The upstream servers of bench/l4, run in their own process so they do not share the load
// generator's event loop: an echo server (1 KB request/response, new-connection probes, idle
// tunnels) and a sink (counts bytes until EOF, then answers the count as 8 bytes and closes).
// Usage: node servers.js <host>  -> prints {"echo":port,"sink":port}
import net from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const echo = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
const sink = net.createServer({ allowHalfOpen: true }, (s) => {
  let n = 0;
  s.on('error', () => undefined);
  s.on('data', (c: Buffer) => (n += c.length));
  s.on('end', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    s.end(b);
  });
});
await new Promise<void>((r) => echo.listen({ host, port: 0, backlog: 4096 }, r));
await new Promise<void>((r) => sink.listen({ host, port: 0, backlog: 4096 }, r));
process.stdout.write(
  JSON.stringify({
    echo: (echo.address() as net.AddressInfo).port,
    sink: (sink.address() as net.AddressInfo).port,
  }) + '\n',
);
