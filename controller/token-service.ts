// ambit.token.v1.AmbitTokens over gRPC: the operator (admin join token only) creates, lists and
// revokes scoped bootstrap tokens in the token store. Converts between wire and store shapes;
// the rules live in token-store.ts and token-scope.ts.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  CreateTokenRequest,
  CreateTokenResponse,
  ListTokensResponse,
  RevokeTokenRequest,
  RevokeTokenResponse,
  WireTokenInfo,
} from '../core/identity/token-wire.js';
import { identifyCaller, type CallerCheck } from './caller-identity.js';
import { ctlError } from './errors.js';
import { operatorOnly } from './inspection-service.js';
import { scopeLabel, type TokenScope } from './token-scope.js';
import type { TokenRecord, TokenStore } from './token-store.js';

export interface TokenServiceDeps extends CallerCheck {
  store: TokenStore;
  logger: Logger;
}

export function wireTokenInfo(r: TokenRecord): WireTokenInfo {
  return {
    id: r.id,
    scope:
      r.scope.kind === 'node'
        ? { node: r.scope.node, waypoint: '' }
        : { node: '', waypoint: r.scope.waypoint },
    createdAt: r.createdAt,
    expiresAt: r.expiresAt ?? '',
    revokedAt: r.revokedAt ?? '',
  };
}

function scopeOf(req: CreateTokenRequest): TokenScope {
  const node = req.scope?.node ?? '';
  const waypoint = req.scope?.waypoint ?? '';
  if ((node === '') === (waypoint === '')) {
    throw ctlError('CTL_TOKEN_SCOPE', 'a token is bound to exactly one of a node or a waypoint');
  }
  return node ? { kind: 'node', node } : { kind: 'waypoint', waypoint };
}

function failure(err: unknown): Partial<grpc.StatusObject> {
  const e = err as { code?: unknown; message?: string };
  const code =
    e.code === 'CTL_TOKEN_SCOPE'
      ? grpc.status.INVALID_ARGUMENT
      : e.code === 'CTL_TOKEN_NOT_FOUND'
        ? grpc.status.NOT_FOUND
        : grpc.status.INTERNAL;
  return { code, details: `${typeof e.code === 'string' ? `${e.code}: ` : ''}${e.message ?? String(err)}` };
}

/** Runs `fn` for the operator only; refusals and failures become gRPC statuses. */
function operatorCall<Req, Res>(
  deps: TokenServiceDeps,
  what: string,
  fn: (req: Req) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    const denied = operatorOnly(identifyCaller(call, deps), what);
    if (denied) {
      deps.logger.warn({ peer: call.getPeer(), reason: denied.details }, `${what} refused`);
      cb(denied);
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(failure(err)),
      );
  };
}

export function tokenServiceHandlers(deps: TokenServiceDeps): grpc.UntypedServiceImplementation {
  return {
    Create: operatorCall<CreateTokenRequest, CreateTokenResponse>(deps, 'token create', async (req) => {
      const ttlMs = req.ttlSeconds > 0 ? req.ttlSeconds * 1000 : undefined;
      const { token, record } = await deps.store.create(scopeOf(req), ttlMs);
      deps.logger.info(
        { token: record.id, scope: scopeLabel(record.scope), expiresAt: record.expiresAt },
        'bootstrap token created',
      );
      return { token, info: wireTokenInfo(record) };
    }),
    List: operatorCall<unknown, ListTokensResponse>(deps, 'token list', () => ({
      tokens: deps.store.list().map(wireTokenInfo),
    })),
    Revoke: operatorCall<RevokeTokenRequest, RevokeTokenResponse>(deps, 'token revoke', async (req) => {
      const record = await deps.store.revoke(req.id);
      deps.logger.info({ token: record.id, scope: scopeLabel(record.scope) }, 'bootstrap token revoked');
      return { info: wireTokenInfo(record) };
    }),
  };
}
