// The TokenReview bootstrap decision (a table of review statuses and pods) and the reviewer's cache
// on a fake clock: TTLs (never past the token's exp), refusals kept briefly, API failures never
// kept, one request for concurrent reviews of one token, the LRU bound and the in-flight bound.
// The API is an in-memory KubeApi; test/integration/kube-token-review.test.ts runs the same
// against the stand-in API server and a real CA gRPC call.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { KubeApiError, type KubeApi, type KubeRequest } from './kube-api.js';
import {
  boundServiceAccountOf,
  scopeOfBoundPod,
  type BoundServiceAccount,
  type PodFacts,
  type TokenReviewStatus,
} from './token-review-decision.js';
import { ServiceAccountTokenReviewer, claimedExpiryMs } from './token-review.js';
import { ReviewCache } from './review-cache.js';

const logger = pino({ level: 'silent' });
const NS = 'ambit-system';

function jwt(payload: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'RS256' })}.${enc(payload)}.c2lnbmF0dXJl`;
}

const nodeStatus = (pod = 'ambit-node-x', uid = 'uid-1'): TokenReviewStatus => ({
  authenticated: true,
  audiences: ['ambit'],
  user: {
    username: `system:serviceaccount:${NS}:ambit-node`,
    extra: {
      'authentication.kubernetes.io/pod-name': [pod],
      'authentication.kubernetes.io/pod-uid': [uid],
    },
  },
});

describe('boundServiceAccountOf', () => {
  it.each<[string, TokenReviewStatus | undefined, string]>([
    ['no status', undefined, 'token review: not authenticated: the API server gave no reason'],
    [
      'an expired token',
      { authenticated: false, error: '[invalid bearer token, token has expired]' },
      'token review: not authenticated: [invalid bearer token, token has expired]',
    ],
    [
      'authenticated for another audience',
      { ...nodeStatus(), audiences: ['vault'] },
      'token audience is [vault], not ambit',
    ],
    [
      'a user that is no service account',
      { ...nodeStatus(), user: { username: 'alice' } },
      'token review: "alice" is not a service account',
    ],
    [
      'a legacy Secret token (no pod)',
      { ...nodeStatus(), user: { username: `system:serviceaccount:${NS}:ambit-node`, extra: {} } },
      `the token of service account ${NS}/ambit-node is not bound to a pod`,
    ],
  ])('%s is refused', (_d, status, want) => {
    const r = boundServiceAccountOf(status);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.startsWith(want), r.reason).toBe(true);
  });

  it('reads the service account and the bound pod', () => {
    expect(boundServiceAccountOf(nodeStatus())).toEqual({
      ok: true,
      value: { namespace: NS, serviceAccount: 'ambit-node', podName: 'ambit-node-x', podUid: 'uid-1' },
    });
  });
});

describe('scopeOfBoundPod', () => {
  const node: BoundServiceAccount = {
    namespace: NS,
    serviceAccount: 'ambit-node',
    podName: 'ambit-node-x',
    podUid: 'uid-1',
  };
  const pod = (o: Partial<PodFacts> = {}): PodFacts => ({
    namespace: NS,
    name: 'ambit-node-x',
    uid: 'uid-1',
    nodeName: 'node-a',
    labels: {},
    ...o,
  });
  const waypointSa: BoundServiceAccount = {
    namespace: 'shop',
    serviceAccount: 'waypoint',
    podName: 'waypoint-1',
    podUid: 'uid-w',
  };
  const wpPod = (labels: Record<string, string>): PodFacts => ({
    namespace: 'shop',
    name: 'waypoint-1',
    uid: 'uid-w',
    nodeName: 'node-a',
    labels,
  });

  it.each<[string, BoundServiceAccount, PodFacts | undefined, string]>([
    ['the node DaemonSet pod', node, pod(), 'node node-a'],
    [
      'a waypoint pod',
      waypointSa,
      wpPod({ 'gateway.networking.k8s.io/gateway-name': 'waypoint' }),
      'waypoint shop/waypoint',
    ],
    [
      'a pod that is gone',
      node,
      undefined,
      `pod ${NS}/ambit-node-x that the token of ${NS}/ambit-node is bound to does not exist`,
    ],
    [
      'a pod recreated under the same name',
      node,
      pod({ uid: 'uid-2' }),
      `pod ${NS}/ambit-node-x was replaced: its uid is uid-2`,
    ],
    ['a node pod not scheduled yet', node, pod({ nodeName: undefined }), 'is not scheduled on a node'],
    [
      'ambit-node of another namespace',
      { ...node, namespace: 'shop' },
      pod({ namespace: 'shop' }),
      `service account shop/ambit-node may not bootstrap: it is not the node DaemonSet's (${NS}/ambit-node)`,
    ],
    [
      "some other pod's service account",
      { ...waypointSa, serviceAccount: 'cart', podName: 'cart-1' },
      { ...wpPod({ app: 'cart' }), name: 'cart-1' },
      'service account shop/cart may not bootstrap',
    ],
  ])('%s', (_d, account, p, want) => {
    const r = scopeOfBoundPod(account, p, NS);
    const got = r.ok
      ? r.value.scope.kind === 'node'
        ? `node ${r.value.scope.node}`
        : `waypoint ${r.value.scope.waypoint}`
      : r.reason;
    expect(got.startsWith(want) || got.includes(want), got).toBe(true);
  });
});

interface StubApi extends KubeApi {
  requests: KubeRequest[];
}

/** An in-memory API: TokenReview answers from `reviews` by token, pods from `pods`. */
function stubApi(o: {
  reviews: (token: string) => TokenReviewStatus | Error | Promise<TokenReviewStatus>;
  pods?: Record<string, { metadata: Record<string, unknown>; spec?: Record<string, unknown> } | Error>;
}): StubApi {
  const requests: KubeRequest[] = [];
  return {
    server: 'stub',
    requests,
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req);
      if (req.method === 'POST') {
        const token = (req.body as { spec: { token: string } }).spec.token;
        const s = await o.reviews(token);
        if (s instanceof Error) throw s;
        return { status: s } as T;
      }
      const name = req.path.split('/').pop() ?? '';
      const p = o.pods?.[name];
      if (p === undefined)
        throw new KubeApiError(`GET ${req.path}: 404 NotFound`, 404, 'NotFound', undefined);
      if (p instanceof Error) throw p;
      return p as T;
    },
    stream: () => Promise.reject(new Error('no streams')),
  };
}

const nodePod = {
  metadata: { name: 'ambit-node-x', namespace: NS, uid: 'uid-1' },
  spec: { nodeName: 'node-a' },
};

describe('ServiceAccountTokenReviewer', () => {
  it('keeps an accepted token 60 s, then asks again (fake clock)', async () => {
    let now = 1_000_000;
    const api = stubApi({ reviews: () => nodeStatus(), pods: { 'ambit-node-x': nodePod } });
    const r = new ServiceAccountTokenReviewer({ api, namespace: NS, logger, now: () => now });
    const token = jwt({ sub: 'x' });
    expect(r.cached(token)).toBeUndefined();
    const first = await r.review(token);
    expect(first).toMatchObject({ ok: true, caller: { scope: { kind: 'node', node: 'node-a' } } });
    expect(r.cached(token)).toEqual(first);
    now += 59_999;
    await r.review(token);
    expect(r.reviewsSent).toBe(1);
    now += 1;
    expect(r.cached(token)).toBeUndefined();
    await r.review(token);
    expect(r.reviewsSent).toBe(2);
    // one TokenReview and one pod GET per review
    expect(api.requests.map((q) => `${q.method ?? 'GET'} ${q.path}`)).toEqual([
      'POST /apis/authentication.k8s.io/v1/tokenreviews',
      `GET /api/v1/namespaces/${NS}/pods/ambit-node-x`,
      'POST /apis/authentication.k8s.io/v1/tokenreviews',
      `GET /api/v1/namespaces/${NS}/pods/ambit-node-x`,
    ]);
  });

  it('never keeps an accepted token past its exp', async () => {
    let now = 1_000_000;
    const api = stubApi({ reviews: () => nodeStatus(), pods: { 'ambit-node-x': nodePod } });
    const r = new ServiceAccountTokenReviewer({ api, namespace: NS, logger, now: () => now });
    const token = jwt({ exp: (now + 20_000) / 1000 });
    expect(claimedExpiryMs(token)).toBe(now + 20_000);
    expect((await r.review(token)).ok).toBe(true);
    now += 19_999;
    expect(r.cached(token)?.ok).toBe(true);
    now += 1;
    expect(r.cached(token)).toBeUndefined();
  });

  it('keeps a refusal 10 s and never keeps a failure to reach the API', async () => {
    let now = 0;
    let answer: TokenReviewStatus | Error = { authenticated: false, error: 'token has expired' };
    const r = new ServiceAccountTokenReviewer({
      api: stubApi({ reviews: () => answer }),
      namespace: NS,
      logger,
      now: () => now,
    });
    const refused = jwt({ n: 1 });
    expect(await r.review(refused)).toEqual({
      ok: false,
      reason: 'token review: not authenticated: token has expired',
      transient: false,
    });
    now += 9_999;
    expect(r.cached(refused)?.ok).toBe(false);
    now += 1;
    expect(r.cached(refused)).toBeUndefined();

    answer = new KubeApiError('POST /apis/...: connect ECONNREFUSED', 0, undefined, undefined);
    const unreachable = jwt({ n: 2 });
    const out = await r.review(unreachable);
    expect(out).toMatchObject({ ok: false, transient: true });
    if (!out.ok)
      expect(out.reason).toContain('token review failed: CTL_KUBE_API: POST /apis/...: connect ECONNREFUSED');
    expect(r.cached(unreachable)).toBeUndefined();
  });

  it('refuses when the bound pod is gone, and answers transient when it cannot be read', async () => {
    const r = new ServiceAccountTokenReviewer({
      api: stubApi({
        reviews: (t) => (t.includes('eyJuIjoxfQ') ? nodeStatus('gone') : nodeStatus('broken')),
        pods: { broken: new KubeApiError('GET: 500', 500, 'InternalError', undefined) },
      }),
      namespace: NS,
      logger,
    });
    expect(await r.review(jwt({ n: 1 }))).toMatchObject({
      ok: false,
      transient: false,
      reason: `pod ${NS}/gone that the token of ${NS}/ambit-node is bound to does not exist`,
    });
    expect(await r.review(jwt({ n: 2 }))).toMatchObject({ ok: false, transient: true });
  });

  it('names the RBAC the controller lacks when the API server forbids the review', async () => {
    const r = new ServiceAccountTokenReviewer({
      api: stubApi({
        reviews: () =>
          new KubeApiError(
            'POST /apis/authentication.k8s.io/v1/tokenreviews: 403 Forbidden',
            403,
            'Forbidden',
            undefined,
          ),
      }),
      namespace: NS,
      logger,
    });
    const out = await r.review(jwt({ n: 1 }));
    expect(out).toMatchObject({ ok: false, transient: true });
    if (!out.ok) expect(out.reason).toContain('(the controller needs create on tokenreviews and get on pods');
  });

  it('sends one request for concurrent reviews of one token', async () => {
    let release: (s: TokenReviewStatus) => void = () => undefined;
    const api = stubApi({
      reviews: () => new Promise<TokenReviewStatus>((resolve) => (release = resolve)),
      pods: { 'ambit-node-x': nodePod },
    });
    const r = new ServiceAccountTokenReviewer({ api, namespace: NS, logger });
    const token = jwt({ n: 1 });
    const all = Promise.all([r.review(token), r.review(token), r.review(token)]);
    await Promise.resolve();
    release(nodeStatus());
    const outs = await all;
    expect(outs.every((o) => o.ok)).toBe(true);
    expect(r.reviewsSent).toBe(1);
  });

  it('runs at most maxInFlight distinct reviews at once', async () => {
    const waiting: ((s: TokenReviewStatus) => void)[] = [];
    const r = new ServiceAccountTokenReviewer({
      api: stubApi({ reviews: () => new Promise<TokenReviewStatus>((resolve) => waiting.push(resolve)) }),
      namespace: NS,
      logger,
      maxInFlight: 2,
    });
    const a = r.review(jwt({ n: 1 }));
    const b = r.review(jwt({ n: 2 }));
    expect(await r.review(jwt({ n: 3 }))).toEqual({
      ok: false,
      transient: true,
      reason: '2 token reviews are already running; retry',
    });
    for (const w of waiting) w({ authenticated: false, error: 'no' });
    await Promise.all([a, b]);
  });
});

describe('ReviewCache', () => {
  it('drops the least recently used entry past its bound', () => {
    const c = new ReviewCache<number>(2, () => 0);
    c.set('a', 1, 10);
    c.set('b', 2, 10);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3, 10);
    expect([c.get('a'), c.get('b'), c.get('c'), c.size]).toEqual([1, undefined, 3, 2]);
  });
});
