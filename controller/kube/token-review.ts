// STUB (issue 10, being built): node and waypoint bootstrap by projected service-account token
// (audience `ambit`), checked with a TokenReview; the node is the bound pod's spec.nodeName.
import type { Logger } from 'pino';
import type { KubeApi } from './kube-api.js';

export const TOKEN_AUDIENCE = 'ambit';

export interface ServiceAccountTokenReviewerOptions {
  api: KubeApi;
  /** The controller's namespace, where the node DaemonSet's service account lives. */
  namespace: string;
  logger: Logger;
}

export class ServiceAccountTokenReviewer {
  constructor(private readonly o: ServiceAccountTokenReviewerOptions) {}
  /** Whether a bearer string has the shape of a JWT (a service-account token). */
  static looksLikeJwt(s: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);
  }
  close(): void {
    this.o.logger.debug('token review closed');
  }
}
