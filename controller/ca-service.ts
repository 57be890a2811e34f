// The CA over gRPC: IstioCertificateService/CreateCertificate. Identifies the caller, asks
// certificate-authorization.ts, signs with the CA core and answers the chain leaf first, root last.
import * as grpc from '@grpc/grpc-js';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { AmbitError } from '../core/errors.js';
import type { CertificateAuthority } from '../core/identity/certificate-authority.js';
import { CA_METADATA } from '../core/identity/ca-client.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../core/discovery/wire-types.js';
import type { MeshState } from '../core/model/mesh.js';
import { identifyCaller } from './caller-identity.js';
import { authorizeCertificate } from './certificate-authorization.js';

export interface CaServiceDeps {
  ca: CertificateAuthority;
  root: X509Certificate;
  joinToken: string;
  trustDomain: string;
  state: () => MeshState;
  logger: Logger;
}

const STATUS = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'permission-denied': grpc.status.PERMISSION_DENIED,
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
} as const;

function metaString(req: IstioCertificateRequest, key: string): string | undefined {
  const v = req.metadata?.fields?.[key]?.stringValue;
  return v ? v : undefined;
}

export function caServiceHandlers(deps: CaServiceDeps): grpc.UntypedServiceImplementation {
  return {
    CreateCertificate: (
      call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>,
      cb: grpc.sendUnaryData<IstioCertificateResponse>,
    ) => {
      void (async () => {
        const req = call.request;
        const caller = identifyCaller(call, deps);
        const decision = authorizeCertificate(
          {
            caller,
            impersonatedIdentity: metaString(req, CA_METADATA.impersonatedIdentity),
            nodeName: metaString(req, CA_METADATA.nodeName),
            waypointFor: metaString(req, CA_METADATA.waypointFor),
          },
          deps.state(),
        );
        const who = caller.kind === 'certificate' ? caller.id.uri : caller.kind;
        if (!decision.allow) {
          deps.logger.warn(
            { caller: who, peer: call.getPeer(), reason: decision.message },
            'certificate request refused',
          );
          cb({ code: STATUS[decision.status], details: decision.message });
          return;
        }
        try {
          const ttlMs = req.validityDuration > 0 ? req.validityDuration * 1000 : undefined;
          const leaf = await deps.ca.sign(req.csr, decision.identity, ttlMs);
          deps.logger.debug({ caller: who, identity: decision.identity }, 'certificate issued');
          cb(null, { certChain: [leaf, deps.ca.rootPem] });
        } catch (err) {
          const message = err instanceof AmbitError ? `${err.code}: ${err.message}` : (err as Error).message;
          deps.logger.warn(
            { caller: who, identity: decision.identity, err: message },
            'certificate request failed',
          );
          cb({
            code: err instanceof AmbitError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
            details: message,
          });
        }
      })();
    },
  };
}
