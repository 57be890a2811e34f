// What a reviewed service-account token may bootstrap (DESIGN.md §2, issue 10), decided purely
// from the API server's TokenReview status and the token's bound pod as read through the API:
// - the review must say authenticated, for audience `ambit`, and name the pod the token is bound
//   to (a projected token; a legacy Secret token has no pod and is refused);
// - the pod must still be the token's (same uid: not deleted and recreated under the same name);
// - the node DaemonSet's service account (`ambit-node` in the controller's namespace) gets its
//   pod's node; a pod labelled `gateway.networking.k8s.io/gateway-name: <gw>` gets waypoint
//   `<ns>/<gw>` (that its service account is the waypoint's identity is checked against the mesh
//   state by certificate-authorization.ts); anything else is refused.
// No I/O here, and the token itself is never read: only what the API server said about it.
import type { TokenScope } from '../token-scope.js';
import { GATEWAY_NAME_LABEL } from '../../core/model/mesh-labels.js';

export const TOKEN_AUDIENCE = 'ambit';
/** The node DaemonSet's service account, in the controller's namespace (deploy/daemonset). */
export const NODE_SERVICE_ACCOUNT = 'ambit-node';
export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';

/** TokenReview `status` (authentication.k8s.io/v1), as much of it as is read. */
export interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: {
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[] | undefined>;
  };
}

/** The service account and pod a token was issued for, as the review reported them. */
export interface BoundServiceAccount {
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
}

/** The pod as read from the API (only what the decision needs). */
export interface PodFacts {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string | undefined;
  labels: Record<string, string>;
}

/** A caller proven by a reviewed token: its service account, its pod and what it may bootstrap. */
export interface ServiceAccountCaller {
  namespace: string;
  serviceAccount: string;
  pod: { name: string; uid: string };
  scope: TokenScope;
}

export type Decided<T> = { ok: true; value: T } | { ok: false; reason: string };

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer string has the shape of a JWT (a service-account token); nothing more is read. */
export function looksLikeJwt(s: string): boolean {
  return JWT.test(s);
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** Reads the review status: who the token belongs to, or why it is not a usable bootstrap token. */
export function boundServiceAccountOf(status: TokenReviewStatus | undefined): Decided<BoundServiceAccount> {
  if (!status?.authenticated) {
    return {
      ok: false,
      reason: `token review: not authenticated: ${status?.error || 'the API server gave no reason'}`,
    };
  }
  const audiences = status.audiences ?? [];
  if (!audiences.includes(TOKEN_AUDIENCE)) {
    return {
      ok: false,
      reason: `token audience is [${audiences.join(', ')}], not ${TOKEN_AUDIENCE} (mount a projected token with audience ${TOKEN_AUDIENCE})`,
    };
  }
  const username = status.user?.username ?? '';
  const m = SA_USER.exec(username);
  if (!m?.[1] || !m[2]) {
    return {
      ok: false,
      reason: `token review: ${JSON.stringify(username)} is not a service account (system:serviceaccount:<namespace>:<name>)`,
    };
  }
  const [namespace, serviceAccount] = [m[1], m[2]];
  const extra = status.user?.extra ?? {};
  const podName = extra[POD_NAME_EXTRA]?.[0];
  const podUid = extra[POD_UID_EXTRA]?.[0];
  if (!podName || !podUid) {
    return {
      ok: false,
      reason: `the token of service account ${namespace}/${serviceAccount} is not bound to a pod (a legacy Secret token, or a TokenRequest without a pod): mount a projected service-account token with audience ${TOKEN_AUDIENCE}`,
    };
  }
  return { ok: true, value: { namespace, serviceAccount, podName, podUid } };
}

/** What the token's pod may bootstrap; `pod` undefined means the API said it does not exist. */
export function scopeOfBoundPod(
  account: BoundServiceAccount,
  pod: PodFacts | undefined,
  controllerNamespace: string,
): Decided<ServiceAccountCaller> {
  const sa = `${account.namespace}/${account.serviceAccount}`;
  const podName = `${account.namespace}/${account.podName}`;
  if (!pod) return { ok: false, reason: `pod ${podName} that the token of ${sa} is bound to does not exist` };
  if (pod.uid !== account.podUid) {
    return {
      ok: false,
      reason: `pod ${podName} was replaced: its uid is ${pod.uid}, the token of ${sa} is bound to ${account.podUid}`,
    };
  }
  const base = {
    namespace: account.namespace,
    serviceAccount: account.serviceAccount,
    pod: { name: pod.name, uid: pod.uid },
  };
  if (account.namespace === controllerNamespace && account.serviceAccount === NODE_SERVICE_ACCOUNT) {
    if (!pod.nodeName) {
      return { ok: false, reason: `pod ${podName} of ${sa} is not scheduled on a node (no spec.nodeName)` };
    }
    return { ok: true, value: { ...base, scope: { kind: 'node', node: pod.nodeName } } };
  }
  const gateway = pod.labels[GATEWAY_NAME_LABEL];
  if (gateway) {
    return {
      ok: true,
      value: { ...base, scope: { kind: 'waypoint', waypoint: `${account.namespace}/${gateway}` } },
    };
  }
  return {
    ok: false,
    reason: `service account ${sa} may not bootstrap: it is not the node DaemonSet's (${controllerNamespace}/${NODE_SERVICE_ACCOUNT}) and its pod ${podName} is no waypoint's (no ${GATEWAY_NAME_LABEL} label)`,
  };
}
