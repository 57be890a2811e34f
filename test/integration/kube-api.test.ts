// The Kubernetes API edge (controller/kube/kube-api.ts) against the stand-in API server
// (test/support/fake-kube-apiserver.ts): kubeconfig auth, JSON calls, API errors with their
// status, reason and Retry-After, and a streaming watch read as chunked JSON lines.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectKube, KubeApiError, type KubeApi } from '../../controller/kube/kube-api.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';

describe('kube-api against the stand-in API server', () => {
  let fake: FakeKubeApiServer;
  let api: KubeApi;
  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    fake.tokens.add('secret-token');
    api = connectKube(fake.writeKubeconfig('secret-token'));
  });
  afterEach(async () => {
    await fake.close();
  });

  it('sends the kubeconfig bearer token; a wrong one is a 401 KubeApiError', async () => {
    await expect(api.request({ path: '/api/v1/namespaces' })).resolves.toMatchObject({
      kind: 'NamespaceList',
    });
    const wrong = connectKube(fake.writeKubeconfig('other'));
    const err = await wrong.request({ path: '/api/v1/namespaces' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ status: 401, reason: 'Unauthorized', code: 'CTL_KUBE_API' });
  });

  it('creates, reads, conflicts and patches with the API server semantics', async () => {
    const made = await api.request<{ metadata: { resourceVersion: string; uid: string } }>({
      method: 'POST',
      path: '/api/v1/namespaces/shop/configmaps',
      body: { metadata: { name: 'c', namespace: 'shop' }, data: { a: '1' } },
    });
    expect(made.metadata.uid).toMatch(/-/);
    const dup = await api
      .request({
        method: 'POST',
        path: '/api/v1/namespaces/shop/configmaps',
        body: { metadata: { name: 'c' } },
      })
      .catch((e: unknown) => e);
    expect(dup).toMatchObject({ status: 409, reason: 'AlreadyExists' });
    const stale = await api
      .request({
        method: 'PUT',
        path: '/api/v1/namespaces/shop/configmaps/c',
        body: { metadata: { name: 'c', resourceVersion: '1' }, data: {} },
      })
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 409, reason: 'Conflict' });
    const patched = await api.request<{ data: Record<string, string> }>({
      method: 'PATCH',
      path: '/api/v1/namespaces/shop/configmaps/c',
      body: { data: { b: '2' } },
    });
    expect(patched.data).toEqual({ a: '1', b: '2' });
    const missing = await api
      .request({ path: '/api/v1/namespaces/shop/configmaps/nope' })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, reason: 'NotFound' });
  });

  it('reads Retry-After from a 429', async () => {
    fake.throttle(1, 7);
    const err = await api.request({ path: '/api/v1/pods' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, reason: 'TooManyRequests', retryAfterMs: 7000 });
  });

  it('paginates a list at one resourceVersion, and streams watch events as JSON lines', async () => {
    for (let i = 0; i < 5; i++) fake.apply({ kind: 'Pod', metadata: { name: `p${i}`, namespace: 'shop' } });
    const first = await api.request<{
      metadata: { continue?: string; resourceVersion: string };
      items: unknown[];
    }>({
      path: '/api/v1/pods',
      query: { limit: 2 },
    });
    expect(first.items).toHaveLength(2);
    fake.apply({ kind: 'Pod', metadata: { name: 'later', namespace: 'shop' } });
    const names: string[] = [];
    let cont = first.metadata.continue;
    while (cont) {
      const page = await api.request<{
        metadata: { continue?: string };
        items: { metadata: { name: string } }[];
      }>({
        path: '/api/v1/pods',
        query: { limit: 2, continue: cont },
      });
      names.push(...page.items.map((p) => p.metadata.name));
      cont = page.metadata.continue;
    }
    expect(names).toEqual(['p2', 'p3', 'p4']); // the pod made after the first page is not in this list
    const w = await api.stream({
      path: '/api/v1/pods',
      query: { watch: true, resourceVersion: first.metadata.resourceVersion, allowWatchBookmarks: true },
    });
    let text = '';
    await new Promise<void>((resolve) => {
      w.body.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) resolve();
      });
    });
    w.close();
    const event = JSON.parse(text.split('\n')[0] ?? '') as {
      type: string;
      object: { metadata: { name: string } };
    };
    expect(event).toMatchObject({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'later' } } });
  });
});
