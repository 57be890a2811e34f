// Status and ConfigDump for `ambit status`, `ambit config dump` and `ambit describe`. Callers
// prove themselves with the join token (the CLI reads it from the state dir) or a mesh certificate.
import * as grpc from '@grpc/grpc-js';
import type { X509Certificate } from 'node:crypto';
import type { ConfigDumpResponse, StatusResponse } from '../core/discovery/wire-types.js';
import type { ConfigStoreStatus } from './config-store.js';
import type { MeshPublication } from './mesh-publication.js';
import type { SubscriberRecord } from './subscriber-session.js';
import { identifyCaller } from './caller-identity.js';

export interface InspectionDeps {
  root: X509Certificate;
  joinToken: string;
  trustDomain: string;
  current: () => MeshPublication;
  storeStatus: () => ConfigStoreStatus;
  subscribers: () => SubscriberRecord[];
  resourceStatus: () => unknown;
}

function authorized(call: grpc.ServerUnaryCall<unknown, unknown>, deps: InspectionDeps): string | undefined {
  const caller = identifyCaller(call, deps);
  return caller.kind === 'anonymous' ? caller.reason : undefined;
}

export function statusResponse(deps: InspectionDeps): StatusResponse {
  const store = deps.storeStatus();
  return {
    configVersion: deps.current().version,
    configSource: store.source,
    trustDomain: deps.trustDomain,
    lastRejectedAt: store.lastRejected?.at ?? '',
    lastRejectedErrors: store.lastRejected?.errors ?? [],
    subscribers: deps.subscribers().map((r) => ({
      subscriber: r.subscriber,
      peer: r.peer,
      connectedAt: r.connectedAt,
      lastSentVersion: r.lastSentVersion ?? '',
      lastAckedVersion: r.lastAckedVersion ?? '',
      lastNackVersion: r.lastNackVersion ?? '',
      lastNackError: r.lastNackError ?? '',
      lastAckAt: r.lastAckAt ?? '',
      connected: r.connected,
      disconnectedAt: r.disconnectedAt ?? '',
      lastNackAt: r.lastNackAt ?? '',
    })),
    resourceStatus: Buffer.from(JSON.stringify(deps.resourceStatus())),
  };
}

export function inspectionHandlers(deps: InspectionDeps): grpc.UntypedServiceImplementation {
  return {
    Status: (call: grpc.ServerUnaryCall<unknown, StatusResponse>, cb: grpc.sendUnaryData<StatusResponse>) => {
      const denied = authorized(call, deps);
      if (denied) return cb({ code: grpc.status.UNAUTHENTICATED, details: `status: ${denied}` });
      cb(null, statusResponse(deps));
    },
    ConfigDump: (
      call: grpc.ServerUnaryCall<unknown, ConfigDumpResponse>,
      cb: grpc.sendUnaryData<ConfigDumpResponse>,
    ) => {
      const denied = authorized(call, deps);
      if (denied) return cb({ code: grpc.status.UNAUTHENTICATED, details: `config dump: ${denied}` });
      const pub = deps.current();
      cb(null, { configVersion: pub.version, meshState: Buffer.from(JSON.stringify(pub.state)) });
    },
  };
}
