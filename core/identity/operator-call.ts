// One unary call to the controller as the operator: the state dir's join token as bearer, over
// server-authenticated TLS, on a client opened for the call and closed after it. Shared by the
// clients of `ambit token` (token-client.ts) and `ambit status` / `config dump`
// (core/discovery/inspection-client.ts); each names its own errors.
import type * as grpc from '@grpc/grpc-js';
import type { Rpc, TypedServiceClientConstructor, UnaryMethods } from '../discovery/proto.js';
import {
  bearerMetadata,
  controllerChannelCredentials,
  controllerChannelOptions,
  readJoinToken,
  readRootCert,
} from './controller-endpoint.js';

export interface OperatorEndpoint {
  controller: string;
  stateDir: string;
}

/**
 * Calls `method` and resolves with its response; rejects with `failure(err)` for a gRPC error, or
 * `failure(undefined)` for a call answered without a response.
 */
export async function operatorCall<R extends { [K in keyof R]: Rpc<unknown, unknown> }, M extends keyof R>(
  o: OperatorEndpoint,
  Client: TypedServiceClientConstructor<grpc.Client & UnaryMethods<R>>,
  method: M,
  req: R[M]['request'],
  timeoutMs: number,
  failure: (err: grpc.ServiceError | undefined) => Error,
): Promise<R[M]['response']> {
  const client = new Client(
    o.controller,
    controllerChannelCredentials(readRootCert(o.stateDir)),
    controllerChannelOptions(),
  );
  try {
    const methods: UnaryMethods<R> = client;
    const fn = methods[method];
    const md = bearerMetadata(readJoinToken(o.stateDir));
    return await new Promise<R[M]['response']>((resolve, reject) => {
      fn.call(client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(failure(err));
        else if (res === undefined) reject(failure(undefined));
        else resolve(res);
      });
    });
  } finally {
    client.close();
  }
}
