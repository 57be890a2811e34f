// The controller's first gRPC server interceptor: every call is admitted at the metadata stage,
// before grpc-js reads any of its message (it starts reading only once the metadata is passed
// on). An anonymous caller (no valid bearer token, no valid mesh certificate) is answered
// UNAUTHENTICATED there; the per-method receive limit (grpc-receive-limit.ts) is set on the call
// first. Refusals are logged at most once per window per kind, with the count in between, so a
// flood does not become a log flood. What each authenticated caller may do is decided by the
// handlers.
// A JWT bearer in a cluster (a projected service-account token) is first reviewed by the API
// server (kube/token-review.ts): the metadata is passed on only once the review answered, so
// identifyFrom() here and in the handler reads its outcome from the reviewer's cache. When the
// API server could not be asked, the call is answered UNAVAILABLE (the client retries).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { bearerOf, identifyFrom, type CallerCheck } from './caller-identity.js';
import type { ReviewOutcome } from './kube/token-review.js';
import { looksLikeJwt } from './kube/token-review-decision.js';
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

/** The review this metadata waits for: a JWT bearer not yet in the reviewer's cache. */
function pendingReview(metadata: grpc.Metadata, check: CallerCheck): Promise<ReviewOutcome> | undefined {
  const reviewer = check.serviceAccountTokens;
  const token = bearerOf(metadata);
  if (!reviewer || token === undefined || !looksLikeJwt(token)) return undefined;
  return reviewer.cached(token) ? undefined : reviewer.review(token);
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
            const refuse = (code: grpc.status, kind: string, reason: string): void => {
              deps.refusals.refused(
                kind,
                { limit: 'authentication', method: method.path, peer, reason },
                kind === 'unauthenticated'
                  ? 'anonymous gRPC call refused before reading its message'
                  : 'gRPC call refused: its token could not be reviewed',
              );
              call.sendStatus({
                code,
                details: `${method.path}: ${reason}`,
                metadata: new grpc.Metadata(),
              });
              resetAfterStatus(call);
            };
            const admit = (): void => {
              const der = call.getAuthContext().sslPeerCertificate?.raw;
              const caller = identifyFrom(metadata, der, deps.check);
              if (caller.kind !== 'anonymous') passOn(metadata);
              else refuse(grpc.status.UNAUTHENTICATED, 'unauthenticated', caller.reason);
            };
            const review = pendingReview(metadata, deps.check);
            if (!review) {
              admit();
              return;
            }
            void review.then((outcome) => {
              if (!outcome.ok && outcome.transient) {
                refuse(grpc.status.UNAVAILABLE, 'token-review-unavailable', outcome.reason);
              } else admit();
            });
          },
        }),
    });
  };
}
