// The CA over gRPC: IstioCertificateService/CreateCertificate. Identifies the caller, asks
// certificate-authorization.ts, caps the lifetime, signs with the CA core (recording in the subject
// what the certificate was issued under, certificate-binding.ts) and answers the chain leaf first,
// root last.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AmbitError } from '../core/errors.js';
import type { CertificateAuthority } from '../core/identity/certificate-authority.js';
import { CA_METADATA } from '../core/identity/ca-client.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../core/discovery/wire-types.js';
import type { MeshState } from '../core/model/mesh.js';
import { identifyCaller, type CallerCheck } from './caller-identity.js';
import { authorizeCertificate, type CertificateKind } from './certificate-authorization.js';
import { bindingSubject } from './certificate-binding.js';

/** Longest lifetime the CA grants, per kind; a longer validity_duration is cut to it. */
export const CERT_TTL_CAP_MS: Readonly<Record<CertificateKind, number>> = {
  workload: 24 * 3600_000,
  node: 24 * 3600_000,
  waypoint: 24 * 3600_000,
};

/** The lifetime to sign for: the request's (seconds; <= 0 means the default), at most the cap. */
export function grantedTtlMs(validityDurationSeconds: number, kind: CertificateKind): number {
  const cap = CERT_TTL_CAP_MS[kind];
  return validityDurationSeconds > 0 ? Math.min(validityDurationSeconds * 1000, cap) : cap;
}

export interface CaServiceDeps extends CallerCheck {
  ca: CertificateAuthority;
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
        const who =
          caller.kind === 'certificate'
            ? caller.id.uri
            : caller.kind === 'scoped-token'
              ? `token ${caller.token.id}`
              : caller.kind === 'service-account'
                ? `service account ${caller.account.namespace}/${caller.account.serviceAccount} (pod ${caller.account.pod.name})`
                : caller.kind;
        if (!decision.allow) {
          deps.logger.warn(
            { caller: who, peer: call.getPeer(), reason: decision.message },
            'certificate request refused',
          );
          cb({ code: STATUS[decision.status], details: decision.message });
          return;
        }
        try {
          const ttlMs = grantedTtlMs(req.validityDuration, decision.kind);
          const leaf = await deps.ca.sign(
            req.csr,
            decision.identity,
            ttlMs,
            new Date(),
            [],
            bindingSubject(deps.trustDomain, decision.binding),
          );
          deps.logger.debug({ caller: who, identity: decision.identity, ttlMs }, 'certificate issued');
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
