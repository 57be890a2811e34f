// The gRPC echo's contract (proto/ambit/echo.proto) loaded for the pod app's server and the pod
// clients: the service definition, a client constructor and the message types. Finds proto/ by
// walking up from this file, so it works from the sources (vitest) and from dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_SERVICE = 'ambit.echo.GrpcEcho';

export interface EchoRequest {
  message: string;
}
export interface StreamRequest {
  message: string;
  count: number;
  intervalMs: number;
}
export interface EchoAssertions {
  fullyQualifiedMethod: string;
  headers: { key: string; value: string }[];
  authority: string;
  context: { namespace: string; pod: string };
}
export interface EchoResponse {
  assertions: EchoAssertions;
  message: string;
  sequence: number;
}

function echoProtoFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const f = path.join(dir, 'proto', 'ambit', 'echo.proto');
    if (existsSync(f)) return f;
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`proto/ambit/echo.proto not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

let loaded: grpc.GrpcObject | undefined;

function echoPackage(): grpc.GrpcObject {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(echoProtoFile(), { keepCase: false, longs: Number, enums: String, defaults: true }),
  );
  return loaded;
}

function echoConstructor(): grpc.ServiceClientConstructor {
  const ambit = echoPackage().ambit as grpc.GrpcObject | undefined;
  const echo = ambit?.echo as grpc.GrpcObject | undefined;
  const ctor = echo?.GrpcEcho;
  if (typeof ctor !== 'function' || !('service' in ctor))
    throw new Error(`${ECHO_SERVICE} missing from echo.proto`);
  return ctor;
}

/** The service definition for grpc.Server.addService. */
export function echoServiceDefinition(): grpc.ServiceDefinition {
  return echoConstructor().service;
}

function method(name: 'Echo' | 'EchoTwo' | 'EchoStream'): grpc.MethodDefinition<object, object> {
  const m = echoServiceDefinition()[name];
  if (!m) throw new Error(`${ECHO_SERVICE}/${name} missing from echo.proto`);
  return m;
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  return typeof v === 'string' ? v : '';
}

/** A decoded EchoResponse (proto-loader gives plain objects; fields checked once, here). */
export function toEchoResponse(o: object): EchoResponse {
  const r = o as Record<string, unknown>;
  const a = (typeof r.assertions === 'object' && r.assertions !== null ? r.assertions : {}) as Record<
    string,
    unknown
  >;
  const ctx = (typeof a.context === 'object' && a.context !== null ? a.context : {}) as Record<
    string,
    unknown
  >;
  const headers = Array.isArray(a.headers) ? (a.headers as unknown[]) : [];
  return {
    message: str(r, 'message'),
    sequence: typeof r.sequence === 'number' ? r.sequence : 0,
    assertions: {
      fullyQualifiedMethod: str(a, 'fullyQualifiedMethod'),
      authority: str(a, 'authority'),
      context: { namespace: str(ctx, 'namespace'), pod: str(ctx, 'pod') },
      headers: headers.flatMap((h) =>
        typeof h === 'object' && h !== null
          ? [
              {
                key: str(h as Record<string, unknown>, 'key'),
                value: str(h as Record<string, unknown>, 'value'),
              },
            ]
          : [],
      ),
    },
  };
}

/** A plaintext (h2c) client of the echo; inside a pod the kernel sends it through the mesh. */
export class EchoClient {
  private readonly client: grpc.Client;

  constructor(target: string, options: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), options);
  }

  unary(
    name: 'Echo' | 'EchoTwo',
    req: EchoRequest,
    md: grpc.Metadata,
    opts: grpc.CallOptions = {},
  ): Promise<EchoResponse> {
    const m = method(name);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        md,
        opts,
        (err, res) => {
          if (err) reject(err);
          else resolve(toEchoResponse(res ?? {}));
        },
      );
    });
  }

  /** Server streaming: resolves with every response, rejects with the call's error. */
  stream(req: StreamRequest, md: grpc.Metadata, opts: grpc.CallOptions = {}): Promise<EchoResponse[]> {
    const m = method('EchoStream');
    const call = this.client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      req,
      md,
      opts,
    );
    const out: EchoResponse[] = [];
    return new Promise((resolve, reject) => {
      call.on('data', (d: object) => out.push(toEchoResponse(d)));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  }

  close(): void {
    this.client.close();
  }
}
