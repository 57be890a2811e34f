// The controller's first gRPC server interceptor: every call is admitted at the metadata stage,
// before grpc-js reads any of its message (it starts reading only once the metadata is passed
// on). An anonymous caller (no valid bearer token, no valid mesh certificate) is answered
// UNAUTHENTICATED there; the per-method receive limit (grpc-receive-limit.ts) is set on the call
// first. Refusals are logged at most once per window per kind, with the count in between, so a
// flood does not become a log flood. What each authenticated caller may do is decided by the
// handlers.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { identifyFrom, type CallerCheck } from './caller-identity.js';
import {
  lowerDecoderLimit,
  receiveLimitOf,
  resetAfterStatus,
  type OversizedMessage,
} from './grpc-receive-limit.js';

/** Logs a kind of refusal at most once per window, counting the ones in between. Injected clock. */
export class RefusalLog {
  private readonly windows = new Map<string, { loggedAt: number; suppressed: number }>();
  /** Refusals so far per kind (logged or not). */
  readonly counts = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  refused(kind: string, fields: Record<string, unknown>, msg: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const t = this.now();
    const w = this.windows.get(kind);
    if (w && t - w.loggedAt < this.windowMs) {
      w.suppressed += 1;
      return;
    }
    this.logger.warn(
      { ...fields, refusals: this.counts.get(kind), suppressedSinceLast: w?.suppressed ?? 0 },
      msg,
    );
    this.windows.set(kind, { loggedAt: t, suppressed: 0 });
  }
}

export interface CallAdmissionDeps {
  check: CallerCheck;
  refusals: RefusalLog;
}

export function oversizedRefusal(refusals: RefusalLog, peer: string): (o: OversizedMessage) => void {
  return (o) =>
    refusals.refused(
      `max-message-bytes ${o.path}`,
      {
        limit: 'max-message-bytes',
        method: o.path,
        limitBytes: o.limitBytes,
        announcedBytes: o.announcedBytes,
        peer,
      },
      'gRPC message over the method limit refused before buffering',
    );
}

export function callAdmission(deps: CallAdmissionDeps): grpc.ServerInterceptor {
  return (method, call) => {
    const peer = call.getPeer();
    const oversized = oversizedRefusal(deps.refusals, peer);
    lowerDecoderLimit(call, method.path, receiveLimitOf(method.path), (o) => {
      oversized(o);
      resetAfterStatus(call);
    });
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, passOn) => {
            const der = call.getAuthContext().sslPeerCertificate?.raw;
            const caller = identifyFrom(metadata, der, deps.check);
            if (caller.kind !== 'anonymous') {
              passOn(metadata);
              return;
            }
            deps.refusals.refused(
              'unauthenticated',
              { limit: 'authentication', method: method.path, peer, reason: caller.reason },
              'anonymous gRPC call refused before reading its message',
            );
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: `${method.path}: ${caller.reason}`,
              metadata: new grpc.Metadata(),
            });
            resetAfterStatus(call);
          },
        }),
    });
  };
}
