// Node and waypoint bootstrap by projected service-account token (audience `ambit`, DESIGN.md §2,
// issue 10): a bearer shaped like a JWT is sent to the API server's TokenReview, its bound pod is
// read back (GET, to check its uid and read spec.nodeName), and token-review-decision.ts says what
// it may bootstrap. The controller never trusts the token's own claims for that.
//
// Reviews are asynchronous but callers are identified synchronously (caller-identity.ts), so the
// call admission interceptor awaits review() before a call proceeds and identifyFrom() then reads
// cached(). Outcomes are cached by SHA-256 of the token in a bounded LRU (10,000 entries): a
// positive one for 60 s, never past the token's `exp` (read from the payload only after the API
// server authenticated it, and only to shorten the entry); a refusal for 10 s. Concurrent
// reviews of one token share one request; failures to reach the API are not cached (`transient`,
// answered UNAVAILABLE so the client retries), and at most `maxInFlight` distinct reviews run at
// once so a flood of made-up tokens cannot become a flood of TokenReviews.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError } from '../../core/errors.js';
import { isNotFound, KubeApiError, type KubeApi } from './kube-api.js';
import { ReviewCache } from './review-cache.js';
import {
  boundServiceAccountOf,
  looksLikeJwt,
  scopeOfBoundPod,
  TOKEN_AUDIENCE,
  type PodFacts,
  type ServiceAccountCaller,
  type TokenReviewStatus,
} from './token-review-decision.js';

export { TOKEN_AUDIENCE } from './token-review-decision.js';

export type ReviewOutcome =
  | { ok: true; caller: ServiceAccountCaller }
  /** `transient`: the API server could not be asked; try again, nothing was decided. */
  | { ok: false; reason: string; transient: boolean };

export interface ServiceAccountTokenReviewerOptions {
  api: KubeApi;
  /** The controller's namespace, where the node DaemonSet's service account lives. */
  namespace: string;
  logger: Logger;
  now?: (() => number) | undefined;
  /** How long an accepted token is trusted without a new review (default 60 s). */
  positiveTtlMs?: number | undefined;
  /** How long a refused token is refused without a new review (default 10 s). */
  negativeTtlMs?: number | undefined;
  /** Cache bound (default 10,000 tokens). */
  maxEntries?: number | undefined;
  /** Distinct reviews running at once (default 64); more are answered transient. */
  maxInFlight?: number | undefined;
  /** Per API request (default 10 s). */
  timeoutMs?: number | undefined;
}

interface PodObject {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
}

/** The `exp` claim (ms) of an already authenticated JWT, when it has a numeric one. */
export function claimedExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class ServiceAccountTokenReviewer {
  private readonly cache: ReviewCache<ReviewOutcome>;
  private readonly inFlight = new Map<string, Promise<ReviewOutcome>>();
  private readonly now: () => number;
  private closed = false;
  /** Reviews sent to the API server (not answered from the cache or shared), for tests and status. */
  reviewsSent = 0;

  constructor(private readonly o: ServiceAccountTokenReviewerOptions) {
    this.now = o.now ?? Date.now;
    this.cache = new ReviewCache(o.maxEntries ?? 10_000, this.now);
  }

  /** Whether a bearer string has the shape of a JWT (a service-account token). */
  static looksLikeJwt(s: string): boolean {
    return looksLikeJwt(s);
  }

  /** The cached outcome for this token, if a review of it is still fresh. Synchronous. */
  cached(token: string): ReviewOutcome | undefined {
    return this.cache.get(digest(token));
  }

  /** Reviews a token (or answers from the cache, or joins a review already running). Never rejects. */
  review(token: string): Promise<ReviewOutcome> {
    const key = digest(token);
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    const running = this.inFlight.get(key);
    if (running) return running;
    if (this.closed) return Promise.resolve(transient('the controller is shutting down'));
    if (this.inFlight.size >= (this.o.maxInFlight ?? 64)) {
      return Promise.resolve(transient(`${this.inFlight.size} token reviews are already running; retry`));
    }
    const p = this.reviewUncached(token).then((outcome) => {
      this.inFlight.delete(key);
      if (!this.closed) this.remember(key, token, outcome);
      return outcome;
    });
    this.inFlight.set(key, p);
    return p;
  }

  close(): void {
    this.closed = true;
    this.cache.clear();
    this.o.logger.debug('token review closed');
  }

  private remember(key: string, token: string, outcome: ReviewOutcome): void {
    const now = this.now();
    if (outcome.ok) {
      const until = now + (this.o.positiveTtlMs ?? 60_000);
      this.cache.set(key, outcome, Math.min(until, claimedExpiryMs(token) ?? until));
    } else if (!outcome.transient) {
      this.cache.set(key, outcome, now + (this.o.negativeTtlMs ?? 10_000));
    }
  }

  private async reviewUncached(token: string): Promise<ReviewOutcome> {
    const timeoutMs = this.o.timeoutMs ?? 10_000;
    this.reviewsSent += 1;
    let status: TokenReviewStatus | undefined;
    try {
      const res = await this.o.api.request<{ status?: TokenReviewStatus }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, audiences: [TOKEN_AUDIENCE] },
        },
        timeoutMs,
      });
      status = res.status;
    } catch (err) {
      return transient(`token review failed: ${describeError(err)}${rbacHint(err)}`);
    }
    const bound = boundServiceAccountOf(status);
    if (!bound.ok) return { ok: false, reason: bound.reason, transient: false };
    const a = bound.value;
    let pod: PodFacts | undefined;
    try {
      const p = await this.o.api.request<PodObject>({
        path: `/api/v1/namespaces/${encodeURIComponent(a.namespace)}/pods/${encodeURIComponent(a.podName)}`,
        timeoutMs,
      });
      pod = {
        namespace: p.metadata?.namespace ?? a.namespace,
        name: p.metadata?.name ?? a.podName,
        uid: p.metadata?.uid ?? '',
        nodeName: p.spec?.nodeName,
        labels: p.metadata?.labels ?? {},
      };
    } catch (err) {
      if (!isNotFound(err)) {
        return transient(
          `cannot read pod ${a.namespace}/${a.podName} of the token: ${describeError(err)}${rbacHint(err)}`,
        );
      }
    }
    const decided = scopeOfBoundPod(a, pod, this.o.namespace);
    if (!decided.ok) return { ok: false, reason: decided.reason, transient: false };
    this.o.logger.debug(
      {
        serviceAccount: `${a.namespace}/${a.serviceAccount}`,
        pod: `${a.namespace}/${a.podName}`,
        scope: decided.value.scope,
      },
      'service-account token reviewed',
    );
    return { ok: true, caller: decided.value };
  }
}

/** A 401/403 from the API server is the controller's own credentials or RBAC, not the caller's. */
function rbacHint(err: unknown): string {
  return err instanceof KubeApiError && (err.status === 401 || err.status === 403)
    ? ' (the controller needs create on tokenreviews and get on pods: deploy/daemonset/rbac-controller.yaml)'
    : '';
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function transient(reason: string): ReviewOutcome {
  return { ok: false, reason, transient: true };
}
