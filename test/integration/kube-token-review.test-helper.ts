// A stand-in for the API server's service-account token issuer and TokenReview endpoint, for the
// token-review suites. Tests mint JWT-shaped tokens (header.payload.HMAC signature) carrying the
// claims a projected token carries (sub, aud, exp, kubernetes.io.pod); the route installed on the
// fake API server decides as the real authenticator does: a bad signature, an expired token, an
// audience outside spec.audiences, or a bound pod that is gone or was recreated under the same name
// give `authenticated: false` with the real server's kind of error; else the user is
// system:serviceaccount:<ns>:<sa> with the pod's name and uid in `extra`. The controller must never
// decode these tokens itself to decide anything: only this route reads them.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';

export interface MintOptions {
  namespace: string;
  serviceAccount: string;
  /** The pod the token is bound to; absent: a legacy token bound to nothing. */
  pod?: { name: string; uid: string } | undefined;
  audiences?: string[];
  /** Seconds from now (negative: already expired). Default 3600. */
  expiresInSeconds?: number;
}

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  jti: string;
  'kubernetes.io'?: { namespace: string; pod?: { name: string; uid: string } };
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
/** The audience a TokenReview without spec.audiences checks against (the API server's own). */
const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export class FakeTokenIssuer {
  private readonly key = randomBytes(32);
  /** TokenReviews answered (to show caching and coalescing). */
  reviews = 0;
  /** The next this many TokenReviews answer 503 (the API server or its authenticator unavailable). */
  unavailable = 0;

  constructor(private readonly now: () => number = Date.now) {}

  mint(o: MintOptions): string {
    const iat = Math.floor(this.now() / 1000);
    const claims: Claims = {
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: `system:serviceaccount:${o.namespace}:${o.serviceAccount}`,
      aud: o.audiences ?? ['ambit'],
      exp: iat + (o.expiresInSeconds ?? 3600),
      iat,
      jti: randomUUID(),
      'kubernetes.io': { namespace: o.namespace, ...(o.pod ? { pod: o.pod } : {}) },
    };
    const signed = `${b64url({ alg: 'HS256', kid: 'fake' })}.${b64url(claims)}`;
    return `${signed}.${this.sign(signed)}`;
  }

  /** Installs POST /apis/authentication.k8s.io/v1/tokenreviews on the fake API server. */
  install(fake: FakeKubeApiServer): void {
    fake.route('POST', /^\/apis\/authentication\.k8s\.io\/v1\/tokenreviews$/, (body) => {
      this.reviews += 1;
      if (this.unavailable > 0) {
        this.unavailable -= 1;
        return {
          status: 503,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'ServiceUnavailable',
            code: 503,
            message: 'the authenticator is unavailable',
          },
        };
      }
      const spec = (body as { spec?: { token?: string; audiences?: string[] } } | undefined)?.spec;
      const status = this.review(fake, spec?.token ?? '', spec?.audiences ?? []);
      return {
        status: 201,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status },
      };
    });
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  private review(fake: FakeKubeApiServer, token: string, wanted: string[]): Record<string, unknown> {
    const refuse = (error: string) => ({ authenticated: false, error: `[invalid bearer token, ${error}]` });
    const parts = token.split('.');
    const [h, p, sig] = parts;
    if (parts.length !== 3 || !h || !p || !sig) return refuse('token is not a JWT');
    const want = Buffer.from(this.sign(`${h}.${p}`));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      return refuse('square/go-jose: error in cryptographic primitive');
    }
    const c = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Claims;
    if (this.now() / 1000 >= c.exp) return refuse('token has expired');
    const targets = wanted.length > 0 ? wanted : [API_SERVER_AUDIENCE];
    const audiences = c.aud.filter((a) => targets.includes(a));
    if (audiences.length === 0) {
      return refuse(
        `token audiences ${JSON.stringify(c.aud)} is invalid for the target audiences ${JSON.stringify(targets)}`,
      );
    }
    const namespace = c.sub.split(':')[2] ?? '';
    const pod = c['kubernetes.io']?.pod;
    if (pod) {
      const live = fake.get('Pod', namespace, pod.name);
      if (!live) return refuse(`pods "${pod.name}" not found`);
      if (live.metadata.uid !== pod.uid) {
        return refuse(
          `the UID in the bound object reference (${pod.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      }
    }
    return {
      authenticated: true,
      audiences,
      user: {
        username: c.sub,
        uid: randomUUID(),
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': [`JTI=${c.jti}`],
          ...(pod
            ? {
                'authentication.kubernetes.io/pod-name': [pod.name],
                'authentication.kubernetes.io/pod-uid': [pod.uid],
              }
            : {}),
        },
      },
    };
  }
}
