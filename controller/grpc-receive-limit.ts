// How big a message each controller gRPC method accepts, enforced before the body is buffered.
// grpc-js (1.14) checks `grpc.max_receive_message_length` server-wide in its StreamDecoder, from
// the 5-byte length prefix, before it accumulates the body: that is the server cap here, sized for
// the largest legitimate message (a discovery NACK with an error detail). It has no per-method
// option, so the first server interceptor lowers that decoder's limit for the call's method
// (lowerDecoderLimit, reaching the decoder grpc-js keeps on its base call) and observes its
// refusals; if a grpc-js upgrade moves that field, the deserializer guard still refuses an
// oversized message (then after buffering, bounded by the server cap), and
// test/integration/controller-grpc-hardening.test.ts, which expects the prefix refusal
// ("... vs 65536") and a stream reset after 1 MiB of 50, fails.
import http2 from 'node:http2';

/** The server-wide cap (grpc.max_receive_message_length): discovery ACK/NACKs. */
export const SERVER_MAX_RECEIVE_BYTES = 1024 * 1024;
/** CSRs, token requests, empty inspection requests: a few KB each. */
export const SMALL_MESSAGE_BYTES = 64 * 1024;

/** Per-method receive caps by gRPC path; a path not listed gets the server cap. */
export const METHOD_MAX_RECEIVE_BYTES: ReadonlyMap<string, number> = new Map([
  ['/istio.v1.auth.IstioCertificateService/CreateCertificate', SMALL_MESSAGE_BYTES],
  ['/ambit.discovery.v1.AmbitDiscovery/Stream', SERVER_MAX_RECEIVE_BYTES],
  ['/ambit.discovery.v1.AmbitDiscovery/Status', SMALL_MESSAGE_BYTES],
  ['/ambit.discovery.v1.AmbitDiscovery/ConfigDump', SMALL_MESSAGE_BYTES],
  ['/ambit.token.v1.AmbitTokens/Create', SMALL_MESSAGE_BYTES],
  ['/ambit.token.v1.AmbitTokens/List', SMALL_MESSAGE_BYTES],
  ['/ambit.token.v1.AmbitTokens/Revoke', SMALL_MESSAGE_BYTES],
]);

export function receiveLimitOf(path: string): number {
  return METHOD_MAX_RECEIVE_BYTES.get(path) ?? SERVER_MAX_RECEIVE_BYTES;
}

/** The limit refusal as logged: which limit, how big the message said it was. */
export interface OversizedMessage {
  path: string;
  limitBytes: number;
  /** The size announced by the length prefix, when known. */
  announcedBytes: number | undefined;
}

const ANNOUNCED = /larger than max \((\d+) vs/;

/** A field grpc-js keeps on its base call, when it is an object with that method; else undefined. */
function baseCallField(call: object, field: string, method: string): Record<string, unknown> | undefined {
  const v: unknown = (call as Record<string, unknown>)[field];
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  return typeof o[method] === 'function' ? o : undefined;
}

/**
 * Lowers grpc-js's per-call StreamDecoder limit to `limitBytes` and reports each refusal through
 * `onRefused`. Returns false when the call has no such decoder (grpc-js internals changed).
 */
export function lowerDecoderLimit(
  call: object,
  path: string,
  limitBytes: number,
  onRefused: (o: OversizedMessage) => void,
): boolean {
  const decoder = baseCallField(call, 'decoder', 'write');
  if (!decoder || typeof decoder.maxReadMessageLength !== 'number') return false;
  const write = decoder.write as (data: Buffer) => Buffer[];
  decoder.maxReadMessageLength = limitBytes;
  decoder.write = (data: Buffer): Buffer[] => {
    try {
      return write.call(decoder, data);
    } catch (err) {
      const m = ANNOUNCED.exec((err as Error).message);
      onRefused({ path, limitBytes, announcedBytes: m?.[1] ? Number(m[1]) : undefined });
      throw err;
    }
  };
  return true;
}

/** The backstop: a request deserializer that refuses a message over the limit before decoding it. */
export function limitDeserializer<T>(
  path: string,
  limitBytes: number,
  deserialize: (b: Buffer) => T,
  onRefused: (o: OversizedMessage) => void,
): (b: Buffer) => T {
  return (b: Buffer) => {
    if (b.length > limitBytes) {
      onRefused({ path, limitBytes, announcedBytes: b.length });
      throw new Error(`message of ${b.length} bytes is over the ${limitBytes}-byte limit of ${path}`);
    }
    return deserialize(b);
  };
}

/**
 * After a refusal grpc-js keeps reading the rest of the request and discards it, so a client
 * can go on sending (bandwidth and CPU, not memory). Resets the call's HTTP/2 stream with
 * NO_ERROR once the status is out (what gRPC asks of a server that answers before the request
 * ended), reaching the stream grpc-js keeps on its base call. False when there is none.
 */
export function resetAfterStatus(call: object): boolean {
  const stream = baseCallField(call, 'stream', 'close');
  if (!stream || !('closed' in stream)) return false;
  const close = stream.close as (code: number) => void;
  setImmediate(() => {
    if (stream.closed !== true) close.call(stream, http2.constants.NGHTTP2_NO_ERROR);
  });
  return true;
}
