// Status and ConfigDump for `ambit status`, `ambit config dump` and `ambit describe`. Only the
// operator may call them: the admin join token from the state dir (the CLI sends it). A mesh
// certificate or a scoped node token is refused (PERMISSION_DENIED), nobody at all UNAUTHENTICATED.
import * as grpc from '@grpc/grpc-js';
import type { ConfigDumpResponse, StatusResponse } from '../core/discovery/wire-types.js';
import type { ConfigStoreStatus } from './config-store.js';
import type { MeshPublication } from './mesh-publication.js';
import type { SubscriberRecord } from './subscriber-session.js';
import { identifyCaller, type Caller, type CallerCheck } from './caller-identity.js';

export interface InspectionDeps extends CallerCheck {
  current: () => MeshPublication;
  storeStatus: () => ConfigStoreStatus;
  subscribers: () => SubscriberRecord[];
  resourceStatus: () => unknown;
  /** Kubernetes store: who holds the Lease, and this replica's identity. */
  leader?: (() => { holder: string | undefined; identity: string; isLeader: boolean }) | undefined;
}

/** Whether this caller is the operator; else the status to refuse with. Pure. */
export function operatorOnly(caller: Caller, what: string): grpc.StatusObject | undefined {
  switch (caller.kind) {
    case 'join-token':
      return undefined;
    case 'anonymous':
      return {
        code: grpc.status.UNAUTHENTICATED,
        details: `${what}: ${caller.reason}`,
        metadata: new grpc.Metadata(),
      };
    case 'scoped-token':
    case 'service-account':
    case 'certificate': {
      const who =
        caller.kind === 'certificate'
          ? caller.id.uri
          : caller.kind === 'scoped-token'
            ? `scoped token ${caller.token.id}`
            : `service account ${caller.account.namespace}/${caller.account.serviceAccount}`;
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `${what} needs the operator's credential (the state dir's join-token), not ${who}`,
        metadata: new grpc.Metadata(),
      };
    }
    default: {
      const never: never = caller;
      throw new Error(`unknown caller ${JSON.stringify(never)}`);
    }
  }
}

function refusal(call: grpc.ServerUnaryCall<unknown, unknown>, deps: InspectionDeps, what: string) {
  return operatorOnly(identifyCaller(call, deps), what);
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
    watches: (store.watches ?? []).map((w) => ({
      kind: w.kind,
      state: w.state,
      objects: w.objects,
      resourceVersion: w.resourceVersion,
      lastEventAt: w.lastEventAt ?? '',
      restarts: w.restarts,
      lastRestartReason: w.lastRestartReason ?? '',
      lastError: w.lastError ?? '',
      relists: w.relists,
      lastRelistAt: w.lastRelistAt ?? '',
    })),
    ...leaderOf(deps),
  };
}

function leaderOf(deps: InspectionDeps): Pick<StatusResponse, 'leader'> {
  const l = deps.leader?.();
  return l ? { leader: { holder: l.holder ?? '', thisReplica: l.isLeader, identity: l.identity } } : {};
}

export function inspectionHandlers(deps: InspectionDeps): grpc.UntypedServiceImplementation {
  return {
    Status: (call: grpc.ServerUnaryCall<unknown, StatusResponse>, cb: grpc.sendUnaryData<StatusResponse>) => {
      const denied = refusal(call, deps, 'status');
      if (denied) return cb(denied);
      cb(null, statusResponse(deps));
    },
    ConfigDump: (
      call: grpc.ServerUnaryCall<unknown, ConfigDumpResponse>,
      cb: grpc.sendUnaryData<ConfigDumpResponse>,
    ) => {
      const denied = refusal(call, deps, 'config dump');
      if (denied) return cb(denied);
      const pub = deps.current();
      cb(null, { configVersion: pub.version, meshState: Buffer.from(JSON.stringify(pub.state)) });
    },
  };
}
