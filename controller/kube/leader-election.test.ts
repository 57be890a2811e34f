// LeaseLeaderElection on fake time against an in-memory Lease API with the API server's optimistic
// concurrency (resourceVersion, 409): acquire, renew, release, takeover after expiry measured by
// the follower's own clock, the lost race, and a partitioned leader stepping down before anyone
// can take over (asserted from the sequence of transitions, never from wall time).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/policy/fake-clock.test-helper.js';
import { KubeApiError, type KubeApi, type KubeRequest, type KubeStream } from './kube-api.js';
import { LeaseLeaderElection } from './leader-election.js';
import { microTime, type LeaseObject } from './lease-record.js';

const NS = 'ambit-system';
const NAME = 'ambit-controller';
const PATH = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${NAME}`;

/** One Lease with the API server's rules; each elector reaches it through its own client. */
class LeaseServer {
  lease: LeaseObject | undefined;
  private rv = 1;
  writes = 0;
  /** Runs just before a PUT is applied (another writer sneaking in between a read and a write). */
  beforePut: (() => void) | undefined;

  write(spec: LeaseObject['spec']): void {
    this.rv += 1;
    this.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: NAME, namespace: NS, resourceVersion: String(this.rv) },
      ...(spec === undefined ? {} : { spec }),
    };
  }

  handle(req: KubeRequest): unknown {
    const err = (status: number, reason: string) =>
      new KubeApiError(`${req.method ?? 'GET'} ${req.path}: ${status} ${reason}`, status, reason, undefined);
    if (req.method === 'GET' && req.path === PATH) {
      if (!this.lease) throw err(404, 'NotFound');
      return structuredClone(this.lease);
    }
    if (req.method === 'POST' && req.path === PATH.slice(0, PATH.lastIndexOf('/'))) {
      if (this.lease) throw err(409, 'AlreadyExists');
      this.writes += 1;
      this.write((req.body as LeaseObject).spec);
      return structuredClone(this.lease);
    }
    if (req.method === 'PUT' && req.path === PATH) {
      const hook = this.beforePut;
      this.beforePut = undefined;
      hook?.();
      const body = req.body as LeaseObject;
      if (!this.lease) throw err(404, 'NotFound');
      if (body.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw err(409, 'Conflict');
      this.writes += 1;
      this.write(body.spec);
      return structuredClone(this.lease);
    }
    throw err(405, 'MethodNotAllowed');
  }

  client(clock: FakeClock): KubeApi & { reachable: boolean; hang: boolean } {
    const handle = (req: KubeRequest): unknown => this.handle(req);
    return {
      server: 'fake://lease',
      reachable: true,
      hang: false,
      request<T>(req: KubeRequest): Promise<T> {
        if (this.hang) {
          // the request goes nowhere; the client gives up after its timeout
          return new Promise<T>((_, reject) =>
            clock.setTimeout(
              () => reject(new KubeApiError(`${req.path}: timeout`, 0, 'Timeout', undefined)),
              req.timeoutMs ?? 30_000,
            ),
          );
        }
        if (!this.reachable)
          return Promise.reject(new KubeApiError(`${req.path}: ECONNREFUSED`, 0, undefined, undefined));
        try {
          return Promise.resolve(handle(req) as T);
        } catch (e) {
          return Promise.reject(e);
        }
      },
      stream(): Promise<KubeStream> {
        return Promise.reject(new Error('no watches here'));
      },
    };
  }
}

function setup(ids: string[], random = () => 0.5) {
  const clock = new FakeClock();
  clock.t = 1_700_000_000_000; // realistic MicroTime stamps
  const server = new LeaseServer();
  const log: string[] = [];
  const leading = new Set<string>();
  let maxLeaders = 0;
  const electors = ids.map((id) => {
    const api = server.client(clock);
    const e = new LeaseLeaderElection({
      api,
      namespace: NS,
      name: NAME,
      identity: id,
      logger: pino({ level: 'silent' }),
      clock,
      random,
    });
    e.onChange((l) => {
      log.push(`${id}:${l ? 'leader' : 'follower'}`);
      if (l) leading.add(id);
      else leading.delete(id);
      maxLeaders = Math.max(maxLeaders, leading.size);
    });
    return { id, e, api };
  });
  const by = (id: string) => {
    const x = electors.find((el) => el.id === id);
    if (!x) throw new Error(`no elector ${id}`);
    return x;
  };
  return { clock, server, log, electors, by, leaders: () => [...leading], maxLeaders: () => maxLeaders };
}

describe('LeaseLeaderElection', () => {
  it('creates the Lease when absent and leads; renews every retry period with MicroTime stamps', async () => {
    const t = setup(['a']);
    t.by('a').e.start();
    await t.clock.advance(0);
    expect(t.log).toEqual(['a:leader']);
    expect(t.by('a').e.isLeader()).toBe(true);
    const spec = t.server.lease?.spec;
    expect(spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaderTransitions: 0 });
    expect(spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const acquired = spec?.acquireTime;
    const before = t.server.writes;
    await t.clock.advance(10_000);
    expect(t.server.writes - before).toBe(5); // 2 s period
    expect(t.server.lease?.spec?.acquireTime).toBe(acquired);
    expect(t.server.lease?.spec?.renewTime).toBe(microTime(t.clock.t));
    expect(t.log).toEqual(['a:leader']);
    await t.by('a').e.stop();
  });

  it('a follower never takes a Lease that keeps being renewed', async () => {
    const t = setup(['a', 'b']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    await t.clock.advance(120_000);
    expect(t.log).toEqual(['a:leader']);
    expect(t.by('b').e.holder()).toBe('a');
    await Promise.all(t.electors.map((x) => x.e.stop()));
  });

  it('stop() releases the Lease: the follower takes over at its next try, one transition counted', async () => {
    const t = setup(['a', 'b']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    await t.clock.advance(5_000);
    const stoppedAt = t.clock.t;
    await t.by('a').e.stop();
    expect(t.server.lease?.spec?.holderIdentity).toBe('');
    expect(t.log).toEqual(['a:leader', 'a:follower']);
    await t.clock.advance(4_400); // retryPeriod * (1 + jitter 1.2), the longest a follower waits
    expect(t.log).toEqual(['a:leader', 'a:follower', 'b:leader']);
    expect(t.server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaderTransitions: 1 });
    expect(t.clock.t - stoppedAt).toBeLessThanOrEqual(4_400);
    await t.by('b').e.stop();
  });

  it('a follower stopping leaves the Lease alone', async () => {
    const t = setup(['a', 'b']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    await t.clock.advance(3_000);
    const writes = t.server.writes;
    await t.by('b').e.stop();
    expect(t.server.writes).toBe(writes);
    expect(t.server.lease?.spec?.holderIdentity).toBe('a');
    await t.by('a').e.stop();
  });

  it('a leader that cannot reach the API steps down before another can take over', async () => {
    const t = setup(['a', 'b', 'c']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    t.by('c').e.start();
    await t.clock.advance(7_000);
    t.by('a').api.reachable = false;
    await t.clock.advance(30_000);
    expect(t.log[0]).toBe('a:leader');
    expect(t.log[1]).toBe('a:follower');
    expect(t.log).toHaveLength(3);
    expect(['b:leader', 'c:leader']).toContain(t.log[2]);
    expect(t.maxLeaders()).toBe(1);
    expect(t.server.lease?.spec?.leaderTransitions).toBe(1);
    // reachable again: it stays a follower of the new leader
    t.by('a').api.reachable = true;
    await t.clock.advance(30_000);
    expect(t.log).toHaveLength(3);
    await Promise.all(t.electors.map((x) => x.e.stop()));
  });

  it('a leader whose requests hang steps down at the renew deadline, not after the request timeout', async () => {
    const t = setup(['a', 'b']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    await t.clock.advance(1_000);
    const lastRenew = t.clock.t - 1_000;
    t.by('a').api.hang = true;
    await t.clock.advance(lastRenew + 10_000 - 1 - t.clock.t); // renew deadline - 1 ms
    expect(t.by('a').e.isLeader()).toBe(true);
    expect(t.clock.t - lastRenew).toBeLessThan(10_000);
    await t.clock.advance(1);
    expect(t.by('a').e.isLeader()).toBe(false);
    await t.clock.advance(30_000);
    expect(t.log).toEqual(['a:leader', 'a:follower', 'b:leader']);
    expect(t.maxLeaders()).toBe(1);
    t.by('a').api.hang = false;
    await Promise.all(t.electors.map((x) => x.e.stop()));
  });

  it('renew failures shorter than the renew deadline keep the leader', async () => {
    const t = setup(['a', 'b']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.by('b').e.start();
    for (let i = 0; i < 5; i++) {
      t.by('a').api.reachable = false;
      await t.clock.advance(5_000);
      t.by('a').api.reachable = true;
      await t.clock.advance(2_000);
    }
    expect(t.log).toEqual(['a:leader']);
    await Promise.all(t.electors.map((x) => x.e.stop()));
  });

  it('judges expiry by its own clock: a record that keeps changing is not expired whatever its renewTime says', async () => {
    const t = setup(['b']);
    // a holder whose clock is an hour behind keeps renewing
    const skewed = (ms: number) => ({
      holderIdentity: 'far',
      leaseDurationSeconds: 15,
      acquireTime: microTime(ms),
      renewTime: microTime(ms),
      leaderTransitions: 3,
    });
    t.server.write(skewed(t.clock.t - 3_600_000));
    t.by('b').e.start();
    for (let i = 0; i < 30; i++) {
      await t.clock.advance(2_000);
      t.server.write(skewed(t.clock.t - 3_600_000));
    }
    expect(t.log).toEqual([]);
    // the holder dies, with a renewTime an hour in the future: still expires 15 s after b saw it last change
    t.server.write(skewed(t.clock.t + 3_600_000));
    const died = t.clock.t;
    await t.clock.advance(14_000);
    expect(t.log).toEqual([]);
    await t.clock.advance(6_000);
    expect(t.log).toEqual(['b:leader']);
    expect(t.server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaderTransitions: 4 });
    expect(t.clock.t - died).toBeGreaterThanOrEqual(15_000);
    await t.by('b').e.stop();
  });

  it('a takeover that loses the write race (409) does not lead', async () => {
    const t = setup(['b']);
    t.server.write({ holderIdentity: 'gone', leaseDurationSeconds: 15, leaderTransitions: 0 });
    t.by('b').e.start();
    await t.clock.advance(15_000);
    expect(t.log).toEqual([]);
    // b now considers it expired; c writes between b's read and b's write
    t.server.beforePut = () =>
      t.server.write({ holderIdentity: 'c', leaseDurationSeconds: 15, leaderTransitions: 1 });
    await t.clock.advance(4_400);
    expect(t.log).toEqual([]);
    expect(t.server.lease?.spec?.holderIdentity).toBe('c');
    await t.by('b').e.stop();
  });

  it('a leader that finds the Lease taken by another steps down at once', async () => {
    const t = setup(['a']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.server.write({ holderIdentity: 'x', leaseDurationSeconds: 15, leaderTransitions: 1 });
    await t.clock.advance(2_000);
    expect(t.log).toEqual(['a:leader', 'a:follower']);
    await t.by('a').e.stop();
    expect(t.server.lease?.spec?.holderIdentity).toBe('x');
  });

  it('a renew that loses the write race rereads at once and steps down for the new holder', async () => {
    const t = setup(['a']);
    t.by('a').e.start();
    await t.clock.advance(0);
    t.server.beforePut = () =>
      t.server.write({ holderIdentity: 'x', leaseDurationSeconds: 15, leaderTransitions: 1 });
    await t.clock.advance(2_000); // the renew meets 409; the reread happens without waiting a period
    expect(t.log).toEqual(['a:leader', 'a:follower']);
    await t.by('a').e.stop();
  });

  it('refuses timings under which two replicas could lead at once', () => {
    const base = {
      api: new LeaseServer().client(new FakeClock()),
      namespace: NS,
      name: NAME,
      identity: 'a',
      logger: pino({ level: 'silent' }),
    };
    expect(
      () => new LeaseLeaderElection({ ...base, leaseDurationSeconds: 10, renewDeadlineMs: 10_000 }),
    ).toThrow(/renewDeadline .* must be shorter than leaseDuration/);
    expect(() => new LeaseLeaderElection({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /must be longer than retryPeriod/,
    );
    expect(() => new LeaseLeaderElection({ ...base, identity: '' })).toThrow(/needs an identity/);
  });
});
