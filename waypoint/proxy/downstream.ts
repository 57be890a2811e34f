// The client side of a request as the pipeline uses it: what node:http's and node:http2's
// compatibility objects share, so one pipeline serves HTTP/1.1 and HTTP/2 (and gRPC) clients.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface DownstreamRequest extends Readable {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  httpVersionMajor: number;
}

export interface DownstreamResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  end(cb?: () => void): unknown;
  once(event: 'drain' | 'close' | 'finish', cb: () => void): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  destroy(err?: Error): unknown;
}

/** gRPC status codes the waypoint answers with itself. */
export const GRPC = {
  OK: 0,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The gRPC status of a local HTTP answer (Envoy's HTTP-to-gRPC mapping, 504 as DEADLINE_EXCEEDED). */
export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC.INTERNAL;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 404:
      return GRPC.UNIMPLEMENTED;
    case 504:
      return GRPC.DEADLINE_EXCEEDED;
    case 429:
    case 500:
    case 502:
    case 503:
      return GRPC.UNAVAILABLE;
    default:
      return GRPC.UNKNOWN;
  }
}
