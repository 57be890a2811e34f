// Test helper: a hostile gRPC client written against the wire (HTTP/2 + the 5-byte gRPC message
// prefix), not through grpc-js, so it can send what a real client library refuses to: huge
// messages, no credentials. Used by the controller's 15010 attack suite; loopback only.
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

export interface FloodResult {
  /** grpc-status from the trailers (or headers of a trailers-only answer); undefined when reset. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  /** Bytes of the message body written before the server answered or reset the stream. */
  bytesWritten: number;
  /** RST_STREAM code when the server reset the stream. */
  rstCode: number | undefined;
}

/**
 * A protobuf message whose field 1 (a string: `csr` of IstioCertificateRequest) holds `size`
 * bytes, framed as one gRPC message: flag 0, 4-byte big-endian length, then the message. Returned
 * as the prefix (header + field tag and length) and the size of the 'A' filler that follows.
 */
function framedStringField(size: number): { head: Buffer; fill: number } {
  const varint: number[] = [];
  for (let v = size; ;) {
    const b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v === 0) {
      varint.push(b);
      break;
    }
    varint.push(b | 0x80);
  }
  const field = Buffer.from([0x0a, ...varint]);
  const len = field.length + size;
  const head = Buffer.alloc(5 + field.length);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(len, 1);
  field.copy(head, 5);
  return { head, fill: size };
}

/** One HTTP/2 session to the controller with the mesh root as trust, no client certificate. */
export function connectController(address: string, rootCertFile: string): http2.ClientHttp2Session {
  return http2.connect(`https://${address}`, {
    ca: readFileSync(rootCertFile),
    servername: 'ambit-controller',
  });
}

/**
 * Sends one gRPC message of `size` bytes (a string field) to `path` on `session` and resolves
 * with how the server answered. Writes honour backpressure; stops writing once the server has
 * answered or reset. Optional bearer token as `authorization`.
 */
export function sendHugeMessage(
  session: http2.ClientHttp2Session,
  path: string,
  size: number,
  o: { bearer?: string; timeoutMs?: number } = {},
): Promise<FloodResult> {
  return new Promise((resolve) => {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
    const stream = session.request(headers);
    const result: FloodResult = {
      grpcStatus: undefined,
      grpcMessage: '',
      bytesWritten: 0,
      rstCode: undefined,
    };
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish();
    }, o.timeoutMs ?? 30_000);
    const take = (h: http2.IncomingHttpHeaders): void => {
      const s = h['grpc-status'];
      if (s !== undefined) {
        result.grpcStatus = Number(s);
        result.grpcMessage = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    stream.on('response', (h) => take(h));
    stream.on('trailers', (h) => take(h));
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (result.grpcStatus === undefined) result.rstCode = stream.rstCode;
      finish();
    });
    const { head, fill } = framedStringField(size);
    const chunk = Buffer.alloc(1 << 20, 0x41);
    let left = fill;
    const pump = (): void => {
      while (!done && !stream.destroyed && left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        result.bytesWritten += n;
        if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          stream.once('drain', pump);
          return;
        }
      }
      if (left === 0 && !stream.destroyed) stream.end();
    };
    stream.write(head);
    pump();
  });
}

/** Peak resident set (VmHWM) and current RSS (VmRSS) of a process, in MiB, from /proc. */
export function processMemoryMib(pid: number): { peak: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
  };
  return { peak: kb('VmHWM'), rss: kb('VmRSS') };
}
