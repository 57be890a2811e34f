// The controller's one edge to a Kubernetes API server: plain JSON requests and streaming GETs
// (watches) over node:http(s). @kubernetes/client-node is used only for what it does well and
// what is easy to get wrong by hand: loading a kubeconfig (contexts, CA data, client certs,
// token files, exec plugins) or the in-cluster service account, and applying its auth to each
// request (a token file is re-read as the kubelet rotates it). Its generated API clients and
// informers are not used: their watches stop for good on errors other than 410 (1.x) and abort
// healthy watches after 30 s (2.0.0, kubernetes-client/javascript#3020); the list/watch loop is
// ours (reflector.ts). Every failure is a KubeApiError carrying the HTTP status, the API's
// `reason` and the `Retry-After` a 429/503 asked for.
import http from 'node:http';
import https from 'node:https';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { AmbitError } from '../../core/errors.js';

export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  method?: KubeMethod;
  /** API path, e.g. `/api/v1/namespaces/shop/pods` or `/apis/coordination.k8s.io/v1/...`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default `application/json`; PATCH defaults to `application/merge-patch+json`. */
  contentType?: string;
  /** Whole-request limit for request(); for stream(), the limit until the response headers. */
  timeoutMs?: number;
}

/** A streaming response (a watch): its body, and a way to end it from our side. */
export interface KubeStream {
  body: Readable;
  close(): void;
}

export interface KubeApi {
  /** The API server URL, for logs and status. */
  readonly server: string;
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /** Resolves once a 200 response's headers arrived; any other status throws a KubeApiError. */
  stream(req: KubeRequest): Promise<KubeStream>;
}

/** A failed API call: `status` 0 means no HTTP response (connection refused, reset, timeout). */
export class KubeApiError extends AmbitError<'CTL_KUBE_API'> {
  constructor(
    message: string,
    readonly status: number,
    /** The Status object's `reason` (NotFound, Conflict, Expired, Gone, TooManyRequests, ...). */
    readonly reason: string | undefined,
    /** From a `Retry-After` header (seconds) or a Status's `details.retryAfterSeconds`. */
    readonly retryAfterMs: number | undefined,
    cause?: unknown,
  ) {
    super('CTL_KUBE_API', message, {
      cause,
      hint: 'check the kubeconfig, the API server and the controller RBAC (deploy/daemonset/rbac.yaml)',
    });
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;
export const isGone = (err: unknown): boolean => err instanceof KubeApiError && err.status === 410;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** `Retry-After` in seconds (the API server never sends an HTTP date); capped at 10 minutes. */
export function retryAfterMs(header: string | string[] | undefined, body?: unknown): number | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  const fromHeader = h !== undefined && /^\d+$/.test(h.trim()) ? Number(h.trim()) : undefined;
  const details = (body as { details?: { retryAfterSeconds?: unknown } } | undefined)?.details;
  const fromBody = typeof details?.retryAfterSeconds === 'number' ? details.retryAfterSeconds : undefined;
  const s = fromHeader ?? fromBody;
  return s === undefined ? undefined : Math.min(s, 600) * 1000;
}

function errorOf(
  req: KubeRequest,
  status: number,
  headers: http.IncomingHttpHeaders,
  text: string,
): KubeApiError {
  let body: { message?: unknown; reason?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const reason = typeof body?.reason === 'string' ? body.reason : undefined;
  const detail = typeof body?.message === 'string' ? body.message : text.slice(0, 300);
  return new KubeApiError(
    `${req.method ?? 'GET'} ${req.path}: ${status}${reason ? ` ${reason}` : ''}: ${detail}`,
    status,
    reason,
    retryAfterMs(headers['retry-after'], body),
  );
}

export function urlOf(server: string, req: KubeRequest): URL {
  const url = new URL(req.path, server.endsWith('/') ? server : `${server}/`);
  // the server URL may carry a path prefix (a proxy): keep it
  const base = new URL(server);
  if (base.pathname !== '/' && base.pathname !== '') {
    url.pathname = `${base.pathname.replace(/\/$/, '')}${req.path}`;
  }
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url;
}

/** Where the in-cluster service account token lives; its presence means "inside a pod". */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(IN_CLUSTER_TOKEN);
}

/** A KubeApi over a kubeconfig file, or the in-cluster service account when `kubeconfig` is undefined. */
export function connectKube(kubeconfig: string | undefined): KubeApi {
  const kc = new KubeConfig();
  try {
    if (kubeconfig === undefined) kc.loadFromCluster();
    else kc.loadFromFile(kubeconfig);
  } catch (err) {
    throw new KubeApiError(
      `cannot load ${kubeconfig === undefined ? 'the in-cluster service account' : `kubeconfig ${kubeconfig}`}: ${(err as Error).message}`,
      0,
      undefined,
      undefined,
      err,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeApiError(
      `kubeconfig ${kubeconfig ?? '(in-cluster)'} has no current cluster (current-context ${JSON.stringify(kc.getCurrentContext())})`,
      0,
      undefined,
      undefined,
    );
  }
  return new HttpKubeApi(cluster.server, kc);
}

class HttpKubeApi implements KubeApi {
  /** One keep-alive agent per protocol: list/watch/status calls reuse connections. */
  private readonly agentOptions = { keepAlive: true, maxSockets: 64 };
  private readonly httpAgent = new http.Agent(this.agentOptions);
  private httpsAgent: https.Agent | undefined;

  constructor(
    readonly server: string,
    private readonly kc: KubeConfig,
  ) {}

  private async open(
    req: KubeRequest,
    accept: string,
  ): Promise<{ request: http.ClientRequest; response: http.IncomingMessage }> {
    const url = urlOf(this.server, req);
    const method = req.method ?? 'GET';
    const opts: https.RequestOptions = { method, headers: { accept } };
    await this.kc.applyToHTTPSOptions(opts); // ca, client cert/key, Authorization (re-read token files)
    const headers = (opts.headers ?? {}) as http.OutgoingHttpHeaders;
    let payload: Buffer | undefined;
    if (req.body !== undefined) {
      payload = Buffer.from(JSON.stringify(req.body));
      headers['content-type'] =
        req.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      headers['content-length'] = payload.length;
    }
    const secure = url.protocol === 'https:';
    if (secure && !this.httpsAgent) {
      this.httpsAgent = new https.Agent({
        ...this.agentOptions,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        ...(opts.cert === undefined ? {} : { cert: opts.cert }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
        ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
      });
    }
    const requestOpts: https.RequestOptions = {
      ...opts,
      headers,
      agent: secure ? this.httpsAgent : this.httpAgent,
    };
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(url, requestOpts, (response) =>
        resolve({ request, response }),
      );
      const timeout = setTimeout(
        () =>
          request.destroy(
            new KubeApiError(
              `${method} ${req.path}: no response in ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
              0,
              'Timeout',
              undefined,
            ),
          ),
        req.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      request.once('response', () => clearTimeout(timeout));
      request.once('close', () => clearTimeout(timeout));
      request.on('error', (err) => {
        clearTimeout(timeout);
        reject(
          err instanceof KubeApiError
            ? err
            : new KubeApiError(`${method} ${req.path}: ${err.message}`, 0, undefined, undefined, err),
        );
      });
      request.end(payload);
    });
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const { request, response } = await this.open(req, 'application/json');
    const chunks: Buffer[] = [];
    let size = 0;
    const text = await new Promise<string>((resolve, reject) => {
      const timeout = setTimeout(
        () => request.destroy(new Error('response body timed out')),
        req.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      response.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) request.destroy(new Error('response over 256 MiB'));
        else chunks.push(c);
      });
      response.once('end', () => {
        clearTimeout(timeout);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      response.once('error', (err) => {
        clearTimeout(timeout);
        reject(err);
      });
      response.once('aborted', () => {
        clearTimeout(timeout);
        reject(new Error('response aborted'));
      });
    }).catch((err: unknown) => {
      throw new KubeApiError(
        `${req.method ?? 'GET'} ${req.path}: ${(err as Error).message}`,
        0,
        undefined,
        undefined,
        err,
      );
    });
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorOf(req, status, response.headers, text);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KubeApiError(
        `${req.method ?? 'GET'} ${req.path}: the response is not JSON`,
        status,
        undefined,
        undefined,
        err,
      );
    }
  }

  async stream(req: KubeRequest): Promise<KubeStream> {
    const { request, response } = await this.open(req, 'application/json');
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      let size = 0;
      const text = await new Promise<string>((resolve) => {
        response.on('data', (c: Buffer) => {
          size += c.length;
          if (size < 65_536) chunks.push(c);
        });
        response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.once('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      throw errorOf(req, status, response.headers, text);
    }
    return { body: response, close: () => request.destroy() };
  }
}
