// KubeStatusWriter on fake time with an in-memory API (resourceVersion, 409, injected failures) and
// a leader gate the test flips: nothing is sent while following; gaining leadership reads every
// object once; nudges in one window share a pass; an unchanged pass sends nothing; losing
// leadership mid-pass stops the writes at once; a failure is retried after the backoff; the
// periodic full resync rereads everything and repairs status someone else overwrote.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { KubeApiError, type KubeApi, type KubeRequest, type KubeStream } from './kube-api.js';
import { ManualLeaderGate } from './leader-gate.test-helper.js';
import { statusMesh, statusMeshObjects } from './status-mesh.test-helper.js';
import { KubeStatusWriter } from './status-writer.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
};

const PLURALS: Record<string, string> = {
  HTTPRoute: 'httproutes',
  GRPCRoute: 'grpcroutes',
  Gateway: 'gateways',
};

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: Record<string, unknown> | undefined;
  [k: string]: unknown;
}

/** The routes and Gateways of the mesh, by path, with the API server's optimistic concurrency. */
class MemoryApi implements KubeApi {
  readonly server = 'memory://';
  readonly objects = new Map<string, Obj>();
  readonly sent: string[] = [];
  private rv = 1;
  failNext = 0;
  beforeWrite: (() => void) | undefined;

  constructor() {
    for (const o of statusMeshObjects()) {
      const kind = String(o.kind);
      const plural = PLURALS[kind];
      if (!plural) continue;
      const meta = o.metadata as { name: string; namespace: string };
      this.objects.set(
        `/apis/gateway.networking.k8s.io/v1/namespaces/${meta.namespace}/${plural}/${meta.name}`,
        { ...(o as Obj), metadata: { ...meta, resourceVersion: String(this.rv++) } },
      );
    }
  }

  get(kind: string, name: string): Obj | undefined {
    const plural = PLURALS[kind] ?? '';
    return this.objects.get(`/apis/gateway.networking.k8s.io/v1/namespaces/shop/${plural}/${name}`);
  }

  request<T>(req: KubeRequest): Promise<T> {
    const method = req.method ?? 'GET';
    this.sent.push(`${method} ${req.path}`);
    const fail = (status: number, reason: string) =>
      Promise.reject(new KubeApiError(`${method} ${req.path}: ${status}`, status, reason, undefined));
    if (this.failNext > 0) {
      this.failNext -= 1;
      return fail(500, 'InternalError');
    }
    if (method === 'GET') {
      const o = this.objects.get(req.path);
      return o ? Promise.resolve(structuredClone(o) as T) : fail(404, 'NotFound');
    }
    if (method === 'PUT' && req.path.endsWith('/status')) {
      const hook = this.beforeWrite;
      this.beforeWrite = undefined;
      hook?.();
      const p = req.path.slice(0, -'/status'.length);
      const o = this.objects.get(p);
      const body = req.body as Obj;
      if (!o) return fail(404, 'NotFound');
      if (body.metadata.resourceVersion !== o.metadata.resourceVersion) return fail(409, 'Conflict');
      const next = {
        ...o,
        status: body.status,
        metadata: { ...o.metadata, resourceVersion: String(this.rv++) },
      };
      this.objects.set(p, next);
      return Promise.resolve(structuredClone(next) as T);
    }
    return fail(405, 'MethodNotAllowed');
  }

  stream(): Promise<KubeStream> {
    return Promise.reject(new Error('no watches'));
  }

  count(method: string): number {
    return this.sent.filter((s) => s.startsWith(`${method} `)).length;
  }
}

function setup(extra: { writesPerSecond?: number; writeBurst?: number } = {}) {
  const clock = new FakeClock();
  const api = new MemoryApi();
  const gate = new ManualLeaderGate();
  const mesh = statusMesh();
  const writer = new KubeStatusWriter({
    api,
    leader: gate,
    config: () => mesh.config,
    state: () => mesh.state,
    subscribers: () => [],
    logger: pino({ level: 'silent' }),
    clock,
    random: () => 0,
    ...extra,
  });
  writer.start();
  const step = async (ms: number) => {
    await clock.advance(ms);
    await settle();
  };
  return { clock, api, gate, mesh, writer, step };
}

const TARGETS = 6; // 5 routes (one of them on another class's Gateway) + the waypoint Gateway
const WRITES = 5;

describe('KubeStatusWriter', () => {
  it('sends nothing while following, however often it is nudged', async () => {
    const t = setup();
    for (let i = 0; i < 5; i++) {
      t.writer.nudge();
      await t.step(1_000);
    }
    await t.step(700_000);
    expect(t.api.sent).toEqual([]);
    await t.writer.stop();
  });

  it('on gaining leadership reads every object once and writes what differs; then an unchanged pass sends nothing', async () => {
    const t = setup();
    t.gate.set(true);
    await t.step(0);
    expect(t.api.count('GET')).toBe(TARGETS);
    expect(t.api.count('PUT')).toBe(WRITES);
    expect(t.writer.writes).toBe(WRITES);
    const sent = t.api.sent.length;
    t.writer.nudge();
    await t.step(200);
    await t.step(60_000); // a resync pass too
    expect(t.writer.passes).toBeGreaterThanOrEqual(3);
    expect(t.api.sent).toHaveLength(sent);
    await t.writer.stop();
  });

  it('nudges within the debounce window share one pass', async () => {
    const t = setup();
    t.gate.set(true);
    await t.step(0);
    const passes = t.writer.passes;
    for (let i = 0; i < 10; i++) {
      t.writer.nudge();
      await t.step(10);
    }
    await t.step(200);
    expect(t.writer.passes - passes).toBe(1);
    await t.writer.stop();
  });

  it('stops writing the moment leadership is lost, and rereads everything when it comes back', async () => {
    const t = setup();
    t.api.beforeWrite = () => t.gate.set(false);
    t.gate.set(true);
    await t.step(0);
    // the first write was already on its way; nothing after it
    expect(t.api.count('PUT')).toBe(1);
    await t.step(120_000);
    expect(t.api.count('PUT')).toBe(1);
    const gets = t.api.count('GET');
    t.gate.set(true);
    await t.step(0);
    expect(t.api.count('GET') - gets).toBe(TARGETS);
    expect(t.api.count('PUT')).toBe(WRITES);
    await t.writer.stop();
  });

  it('retries a failed pass after the backoff, then settles', async () => {
    const t = setup();
    t.api.failNext = 2; // the first two reads
    t.gate.set(true);
    await t.step(0);
    expect(t.api.count('PUT')).toBe(WRITES - 2);
    await t.step(499);
    expect(t.api.count('PUT')).toBe(WRITES - 2);
    await t.step(1); // the first backoff: 500 ms
    expect(t.api.count('PUT')).toBe(WRITES);
    await t.writer.stop();
  });

  it('spreads a burst of writes at the write rate', async () => {
    const t = setup({ writesPerSecond: 1, writeBurst: 2 });
    t.gate.set(true);
    await t.step(0);
    expect(t.api.count('PUT')).toBe(2);
    await t.step(999);
    expect(t.api.count('PUT')).toBe(2);
    await t.step(1);
    expect(t.api.count('PUT')).toBe(3);
    await t.step(2_000);
    expect(t.api.count('PUT')).toBe(WRITES);
    await t.writer.stop();
  });

  it('repairs status someone else overwrote at the next full resync, not before', async () => {
    const t = setup();
    t.gate.set(true);
    await t.step(0);
    const cart = t.api.get('HTTPRoute', 'cart');
    if (!cart) throw new Error('no cart');
    cart.status = { parents: [] };
    const puts = t.api.count('PUT');
    await t.step(540_000); // resync passes compare with what they wrote: no requests
    expect(t.api.count('PUT')).toBe(puts);
    await t.step(60_000); // 10 min: the full resync reads everything again
    expect(t.api.count('PUT')).toBe(puts + 1);
    expect((t.api.get('HTTPRoute', 'cart')?.status?.parents as unknown[]).length).toBe(1);
    await t.writer.stop();
  });
});
