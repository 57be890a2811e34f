// Client of the controller's token service (ambit.token.v1.AmbitTokens) for `ambit token` and the
// harnesses that give each node its own token: authenticates with the operator's admin
// credential, the state dir's join-token, over server-authenticated TLS.
import * as grpc from '@grpc/grpc-js';
import { meshProtos } from '../discovery/proto.js';
import { identityError } from './errors.js';
import {
  bearerMetadata,
  controllerChannelCredentials,
  controllerChannelOptions,
  readJoinToken,
  readRootCert,
} from './controller-endpoint.js';
import type {
  CreateTokenResponse,
  ListTokensResponse,
  RevokeTokenResponse,
  WireTokenInfo,
} from './token-wire.js';

const TIMEOUT_MS = 10_000;

export interface TokenEndpoint {
  controller: string;
  stateDir: string;
}

/** What a token is bound to: `{node}` or `{waypoint: '<ns>/<gateway>'}`. */
export type TokenTarget = { node: string } | { waypoint: string };

type Unary = (
  req: object,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r?: unknown) => void,
) => void;

async function call<Res>(o: TokenEndpoint, method: 'Create' | 'List' | 'Revoke', req: object): Promise<Res> {
  const client = new (meshProtos().tokens)(
    o.controller,
    controllerChannelCredentials(readRootCert(o.stateDir)),
    controllerChannelOptions(),
  );
  const token = readJoinToken(o.stateDir);
  try {
    return await new Promise<Res>((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary>)[method];
      if (!fn) throw identityError('CA_REQUEST_FAILED', `the token service has no method ${method}`);
      fn.call(client, req, bearerMetadata(token), { deadline: Date.now() + TIMEOUT_MS }, (err, res) => {
        if (err) {
          reject(
            identityError(
              'TOKEN_REQUEST_FAILED',
              `token ${method.toLowerCase()} at ${o.controller}: ${err.details || err.message}`,
              err,
            ),
          );
        } else resolve(res as Res);
      });
    });
  } finally {
    client.close();
  }
}

/** Creates a token bound to one node or waypoint; returns the secret `<id>.<secret>` (shown once). */
export function createToken(
  o: TokenEndpoint & { target: TokenTarget; ttlMs?: number | undefined },
): Promise<CreateTokenResponse> {
  const scope =
    'node' in o.target ? { node: o.target.node, waypoint: '' } : { node: '', waypoint: o.target.waypoint };
  const ttlSeconds = o.ttlMs === undefined ? 0 : Math.ceil(o.ttlMs / 1000);
  return call<CreateTokenResponse>(o, 'Create', { scope, ttlSeconds });
}

export async function listTokens(o: TokenEndpoint): Promise<WireTokenInfo[]> {
  return (await call<ListTokensResponse>(o, 'List', {})).tokens;
}

export async function revokeToken(o: TokenEndpoint & { id: string }): Promise<WireTokenInfo> {
  return (await call<RevokeTokenResponse>(o, 'Revoke', { id: o.id })).info;
}
