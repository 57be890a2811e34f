// The sample app every local-cluster pod runs (inside the pod's netns and cgroup):
// - HTTP on 8080: an echo shaped like Gateway API's conformance echo-basic (JSON with path, host,
//   method, proto, headers, namespace, pod, plus who called and how many body bytes arrived),
//   with request- or pod-controlled misbehaviour for resilience tests (echo-behaviour.ts), and
//   a request counter at /ambit/requests (GET; DELETE resets) that does not count itself;
// - gRPC (h2c) on 7070: proto/ambit/echo.proto's GrpcEcho (unary Echo/EchoTwo, streaming
//   EchoStream), failing with a status on demand;
// - TCP echo on 9000 that echoes everything back; `SEND <n>\n` streams n bytes instead.
// Usage: node pod-app.js <pod-name>; AMBIT_POD_NAMESPACE and the AMBIT_ECHO_* knobs by environment.
import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { decideEcho, echoSettingsFromEnv, type EchoDecision } from './echo-behaviour.js';
import {
  ECHO_SERVICE,
  echoServiceDefinition,
  type EchoRequest,
  type EchoResponse,
  type StreamRequest,
} from './echo-proto.js';

const podName = process.argv[2] ?? process.env.AMBIT_POD_NAME ?? 'pod';
const namespace = process.env.AMBIT_POD_NAMESPACE ?? '';
const httpPort = Number(process.env.AMBIT_POD_HTTP_PORT ?? 8080);
const echoPort = Number(process.env.AMBIT_POD_ECHO_PORT ?? 9000);
const grpcPort = Number(process.env.AMBIT_POD_GRPC_PORT ?? 7070);
const settings = echoSettingsFromEnv(process.env);
const attempts = new Map<string, number>();

/** Requests this pod's HTTP and gRPC servers received (mirror and retry tests read it). */
const counts = { total: 0, byMethod: {} as Record<string, number>, grpc: 0 };

/** Go's canonical header name (echo-basic's map keys): x-header-set -> X-Header-Set. */
function canonical(name: string): string {
  return name
    .split('-')
    .map((w) => (w ? w[0]?.toUpperCase() + w.slice(1).toLowerCase() : w))
    .join('-');
}

function afterDelay(ms: number, fn: () => void): void {
  if (ms > 0) setTimeout(fn, ms);
  else fn();
}

function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  received: number,
  d: EchoDecision,
): void {
  switch (d.kind) {
    case 'hang':
      return; // never answer; the socket closes when the client or proxy gives up
    case 'reset':
      afterDelay(d.delayMs, () => req.socket.resetAndDestroy());
      return;
    case 'respond':
      afterDelay(d.delayMs, () => {
        if (res.destroyed) return;
        const url = new URL(req.url ?? '/', 'http://x');
        for (const list of req.headersDistinct['x-echo-set-header'] ?? []) {
          for (const kv of list.split(',')) {
            const [name, ...value] = kv.trim().split(':');
            if (name) res.setHeader(name, value.join(':').trim());
          }
        }
        res.statusCode = d.status;
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-content-type-options', 'nosniff');
        const headers: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(req.headersDistinct)) if (v) headers[canonical(k)] = v;
        res.end(
          JSON.stringify({
            pod: podName,
            from: req.socket.remoteAddress,
            path: req.url,
            received,
            host: req.headers.host ?? '',
            method: req.method,
            proto: `HTTP/${req.httpVersion}`,
            headers,
            namespace,
            httpPort: String(httpPort),
            ...(d.echo ? {} : { status: d.status, query: url.search }),
          }) + '\n',
        );
      });
      return;
    default: {
      const never: never = d;
      throw new Error(`unknown echo decision ${JSON.stringify(never)}`);
    }
  }
}

http
  .createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/ambit/requests') {
        if (req.method === 'DELETE') {
          counts.total = 0;
          counts.byMethod = {};
          counts.grpc = 0;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ pod: podName, ...counts }) + '\n');
        return;
      }
      counts.total++;
      counts.byMethod[req.method ?? '?'] = (counts.byMethod[req.method ?? '?'] ?? 0) + 1;
      const first = (n: string): string | undefined => req.headersDistinct[n]?.[0];
      answer(
        req,
        res,
        size,
        decideEcho(
          { path: url.pathname, query: url.searchParams, header: first },
          settings,
          attempts,
          Math.random,
        ),
      );
    });
  })
  .listen(httpPort);

function grpcDecision(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
): {
  status?: grpc.status;
  delayMs: number;
} {
  const first = (n: string): string | undefined => {
    const v = call.metadata.get(n)[0];
    return typeof v === 'string' ? v : undefined;
  };
  const asked = first('x-ambit-echo-grpc-status');
  const failPercent = Number(first('x-ambit-echo-fail-percent') ?? settings.failPercent ?? 0);
  const delayMs = Number(first('x-ambit-echo-delay-ms') ?? settings.delayMs ?? 0);
  const id = first('x-ambit-echo-id');
  const succeedAfter = first('x-ambit-echo-succeed-after');
  const failWith = asked !== undefined && /^\d+$/.test(asked) ? Number(asked) : grpc.status.UNAVAILABLE;
  if (id !== undefined && succeedAfter !== undefined) {
    const seen = attempts.get(id) ?? 0;
    if (seen < Number(succeedAfter)) {
      attempts.set(id, seen + 1);
      return { status: failWith, delayMs };
    }
    return { delayMs };
  }
  if (failPercent > 0 && Math.random() * 100 < failPercent) return { status: failWith, delayMs };
  if (asked !== undefined) return { status: failWith, delayMs };
  return { delayMs };
}

function echoResponse(
  method: string,
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  message: string,
  sequence: number,
): EchoResponse {
  const headers: { key: string; value: string }[] = [];
  for (const [key, values] of Object.entries(call.metadata.toJSON())) {
    for (const v of values) headers.push({ key, value: typeof v === 'string' ? v : v.toString('base64') });
  }
  return {
    assertions: {
      fullyQualifiedMethod: call.getPath() || `/${ECHO_SERVICE}/${method}`,
      headers,
      authority: call.getHost(),
      context: { namespace, pod: podName },
    },
    message,
    sequence,
  };
}

function unary(method: string): grpc.handleUnaryCall<EchoRequest, EchoResponse> {
  return (call, callback) => {
    counts.grpc++;
    const d = grpcDecision(call);
    afterDelay(d.delayMs, () => {
      if (d.status !== undefined) callback({ code: d.status, details: `${podName}: asked to fail` });
      else callback(null, echoResponse(method, call, call.request.message, 0));
    });
  };
}

const server = new grpc.Server();
const stream: grpc.handleServerStreamingCall<StreamRequest, EchoResponse> = (call) => {
  counts.grpc++;
  const d = grpcDecision(call);
  const count = Math.min(1000, call.request.count || 1);
  afterDelay(d.delayMs, () => {
    if (d.status !== undefined) {
      call.destroy(Object.assign(new Error(`${podName}: asked to fail`), { code: d.status }));
      return;
    }
    let i = 0;
    const next = (): void => {
      if (call.cancelled) return;
      if (i >= count) {
        call.end();
        return;
      }
      call.write(echoResponse('EchoStream', call, call.request.message, i++));
      afterDelay(call.request.intervalMs, next);
    };
    next();
  });
};
server.addService(echoServiceDefinition(), {
  Echo: unary('Echo'),
  EchoTwo: unary('EchoTwo'),
  EchoStream: stream,
});

net
  .createServer((sock) => {
    sock.on('error', () => undefined);
    let head = '';
    let decided = false;
    sock.on('data', (chunk: Buffer) => {
      if (decided) {
        sock.write(chunk);
        return;
      }
      head += chunk.toString('latin1');
      const m = /^SEND (\d+)\n/.exec(head);
      if (m) {
        decided = true;
        streamBytes(sock, Number(m[1]));
        return;
      }
      if (head.length >= 5 || head.includes('\n')) {
        decided = true;
        sock.write(Buffer.from(head, 'latin1'));
      }
    });
    sock.on('end', () => sock.end());
  })
  .listen(echoPort);

/** Streams n bytes in 64 KiB chunks, honouring backpressure, then ends. */
function streamBytes(sock: net.Socket, n: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= part.length;
      if (!sock.write(part)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

process.on('SIGTERM', () => process.exit(0));
server.bindAsync(`0.0.0.0:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stderr.write(`grpc listen on ${grpcPort}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`ready ${podName}\n`);
});
