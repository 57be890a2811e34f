// The soak's upstream pod, in its own process so it does not share the load generator's event loop:
// a TCP echo (L4 lanes), an HTTP/1.1 server answering 1 KB (the L7 lane) and a gRPC server echoing
// the request bytes at /soak.Echo/Echo (the gRPC lane). Failures only on request, so every one is
// an injected one: `x-soak-fail: <HTTP status | gRPC code>` always fails; `x-soak-fail-once: <id>`
// fails the first attempt of that id (503 / UNAVAILABLE) so the waypoint's retry hides it.
// Usage: node backend.js <host>  -> prints {"tcp":N,"http":N,"grpc":N}; exits when stdin closes.
import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';

const host = process.argv[2] ?? '127.0.0.1';
const body = Buffer.alloc(1024, 0x61);
/** ids whose first attempt failed; removed on the retry, so the set stays small */
const failedOnce = new Set<string>();

/** `fail-once` ids: true when this attempt is to fail. */
function failThisAttempt(id: string | undefined): boolean {
  if (id === undefined) return false;
  if (failedOnce.delete(id)) return false;
  failedOnce.add(id);
  return true;
}

const tcp = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});

const web = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const fail = req.headers['x-soak-fail'];
    const status =
      typeof fail === 'string' && /^\d{3}$/.test(fail)
        ? Number(fail)
        : failThisAttempt(req.headers['x-soak-fail-once'] as string | undefined)
          ? 503
          : 200;
    const out = status === 200 ? body : Buffer.from('injected\n');
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': out.length });
    res.end(out);
  });
});
// the waypoint pools upstream connections for minutes; the default 5 s would make it redial
web.keepAliveTimeout = 300_000;
web.headersTimeout = 301_000;
web.requestTimeout = 0;

const identity = (b: Buffer): Buffer => b;
const rpc = new grpc.Server();
rpc.addService(
  {
    Echo: {
      path: '/soak.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const first = (k: string): string | undefined => {
        const v = call.metadata.get(k)[0];
        return typeof v === 'string' ? v : undefined;
      };
      const fail = first('x-soak-fail');
      if (fail !== undefined && /^\d+$/.test(fail)) {
        callback({ code: Number(fail), details: 'injected' });
        return;
      }
      if (failThisAttempt(first('x-soak-fail-once'))) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'injected, once' });
        return;
      }
      callback(null, call.request);
    },
  },
);

await new Promise<void>((r) => tcp.listen({ host, port: 0, backlog: 1024 }, r));
await new Promise<void>((r) => web.listen({ host, port: 0, backlog: 1024 }, r));
const grpcPort = await new Promise<number>((resolve, reject) =>
  rpc.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
process.stdout.write(
  JSON.stringify({
    tcp: (tcp.address() as net.AddressInfo).port,
    http: (web.address() as net.AddressInfo).port,
    grpc: grpcPort,
  }) + '\n',
);
// the soak keeps stdin open; when it dies (even by SIGKILL) stdin closes and this process goes too
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
