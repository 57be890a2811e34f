// The upstream of bench/l7, in its own process so it does not share the load generator's event
// loop: an HTTP/1.1 server answering every request with 200 and a 1 KB body (Content-Length),
// keeping connections open as long as clients and proxies want them.
// Usage: node backend.js <host>  -> prints {"port":N}
import http from 'node:http';
import type net from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const body = Buffer.alloc(1024, 0x61);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
});
// proxies pool upstream connections for minutes; the default 5 s would make them redial mid-run
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
await new Promise<void>((r) => server.listen({ host, port: 0, backlog: 4096 }, r));
process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n');
