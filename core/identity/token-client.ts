// Client of the controller's token service (ambit.token.v1.AmbitTokens) for `ambit token` and the
// harnesses that give each node its own token: authenticates with the operator's admin
// credential, the state dir's join-token, over server-authenticated TLS.
import { meshProtos, type TokenRpcs } from '../discovery/proto.js';
import { identityError } from './errors.js';
import { operatorCall, type OperatorEndpoint } from './operator-call.js';
import type { CreateTokenResponse, WireTokenInfo } from './token-wire.js';

const TIMEOUT_MS = 10_000;

export type TokenEndpoint = OperatorEndpoint;

/** What a token is bound to: `{node}` or `{waypoint: '<ns>/<gateway>'}`. */
export type TokenTarget = { node: string } | { waypoint: string };

function call<M extends keyof TokenRpcs>(
  o: TokenEndpoint,
  method: M,
  req: TokenRpcs[M]['request'],
): Promise<TokenRpcs[M]['response']> {
  return operatorCall<TokenRpcs, M>(o, meshProtos().tokens, method, req, TIMEOUT_MS, (err) =>
    identityError(
      'TOKEN_REQUEST_FAILED',
      `token ${method.toLowerCase()} at ${o.controller}: ${err ? err.details || err.message : 'empty response'}`,
      err,
    ),
  );
}

/** Creates a token bound to one node or waypoint; returns the secret `<id>.<secret>` (shown once). */
export function createToken(
  o: TokenEndpoint & { target: TokenTarget; ttlMs?: number | undefined },
): Promise<CreateTokenResponse> {
  const scope =
    'node' in o.target ? { node: o.target.node, waypoint: '' } : { node: '', waypoint: o.target.waypoint };
  const ttlSeconds = o.ttlMs === undefined ? 0 : Math.ceil(o.ttlMs / 1000);
  return call(o, 'Create', { scope, ttlSeconds });
}

export async function listTokens(o: TokenEndpoint): Promise<WireTokenInfo[]> {
  return (await call(o, 'List', {})).tokens;
}

export async function revokeToken(o: TokenEndpoint & { id: string }): Promise<WireTokenInfo> {
  return (await call(o, 'Revoke', { id: o.id })).info;
}
