// LeaseLeaderElection against the stand-in API server (real HTTP, the Lease's resourceVersion and
// 409s): of three electors one leads; the leader stops (releases) and another takes over within
// the lease duration; a leader cut off from the API (its own connection refused, or the API failing
// every request) steps down before any other replica takes over - checked on the sequence of
// transitions all electors report, never on wall time. Short timings in the cut-off cases keep the
// suite quick; their ratios are client-go's (deadline < duration, retry * jitter < deadline).
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectKube,
  KubeApiError,
  type KubeApi,
  type KubeRequest,
  type KubeStream,
} from '../../controller/kube/kube-api.js';
import {
  LeaseLeaderElection,
  type LeaseLeaderElectionOptions,
} from '../../controller/kube/leader-election.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { until } from '../support/until.js';

/** A KubeApi whose connection the test can cut: requests fail as a refused connection would. */
class CuttableKubeApi implements KubeApi {
  cut = false;
  constructor(private readonly inner: KubeApi) {}
  get server(): string {
    return this.inner.server;
  }
  request<T>(req: KubeRequest): Promise<T> {
    if (this.cut)
      return Promise.reject(new KubeApiError(`${req.path}: connect ECONNREFUSED`, 0, undefined, undefined));
    return this.inner.request<T>(req);
  }
  stream(req: KubeRequest): Promise<KubeStream> {
    return this.inner.stream(req);
  }
}

const FAST = { leaseDurationSeconds: 3, renewDeadlineMs: 1_500, retryPeriodMs: 250 } as const;

describe('Lease leader election against the stand-in API server', () => {
  let fake: FakeKubeApiServer;
  let kubeconfig: string;
  const electors: { id: string; e: LeaseLeaderElection; api: CuttableKubeApi }[] = [];
  const transitions: string[] = [];
  const leading = new Set<string>();
  let maxLeaders = 0;

  beforeEach(async () => {
    fake = await new FakeKubeApiServer().start();
    kubeconfig = fake.writeKubeconfig();
    transitions.length = 0;
    leading.clear();
    maxLeaders = 0;
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((x) => x.e.stop()));
    await fake.close();
  });

  function start(ids: string[], timings: Partial<LeaseLeaderElectionOptions> = {}): void {
    for (const id of ids) {
      const api = new CuttableKubeApi(connectKube(kubeconfig));
      const e = new LeaseLeaderElection({
        api,
        namespace: 'ambit-system',
        name: 'ambit-controller',
        identity: id,
        logger: pino({ level: 'silent' }),
        ...timings,
      });
      e.onChange((l) => {
        transitions.push(`${id}:${l ? 'leader' : 'follower'}`);
        if (l) leading.add(id);
        else leading.delete(id);
        maxLeaders = Math.max(maxLeaders, leading.size);
      });
      electors.push({ id, e, api });
      e.start();
    }
  }
  const elector = (id: string) => {
    const x = electors.find((el) => el.id === id);
    if (!x) throw new Error(`no elector ${id}`);
    return x;
  };
  const lease = () =>
    fake.get('Lease', 'ambit-system', 'ambit-controller') as { spec?: Record<string, unknown> } | undefined;

  it('one of three leads; when it stops, another takes over within the lease duration (15 s)', async () => {
    start(['a', 'b', 'c']);
    const first = await until('a leader', () => [...leading][0]);
    expect(lease()?.spec).toMatchObject({
      holderIdentity: first,
      leaseDurationSeconds: 15,
      leaderTransitions: 0,
    });
    expect(electors.filter((x) => x.e.isLeader()).map((x) => x.id)).toEqual([first]);
    await elector(first).e.stop();
    expect(lease()?.spec).toMatchObject({ holderIdentity: '' });
    // until's bound is the lease duration: a released Lease is taken at the next try, not at expiry
    const second = await until('another leader', () => [...leading].find((id) => id !== first), 15_000);
    expect(second).not.toBe(first);
    expect(lease()?.spec).toMatchObject({ holderIdentity: second, leaderTransitions: 1 });
    expect(transitions).toEqual([`${first}:leader`, `${first}:follower`, `${second}:leader`]);
    expect(maxLeaders).toBe(1);
  });

  it('a leader whose connection is refused steps down before another takes over', async () => {
    start(['a'], FAST);
    await until('a leads', () => elector('a').e.isLeader());
    start(['b', 'c'], FAST);
    await until(
      'the followers see a',
      () => elector('b').e.holder() === 'a' && elector('c').e.holder() === 'a',
    );
    elector('a').api.cut = true;
    await until('a new leader', () => [...leading].find((id) => id !== 'a'));
    expect(transitions.slice(0, 2)).toEqual(['a:leader', 'a:follower']);
    expect(transitions).toHaveLength(3);
    expect(maxLeaders).toBe(1);
    expect(lease()?.spec).toMatchObject({ leaderTransitions: 1 });
    // back on the network: a follows the new leader, it does not fight for the Lease
    elector('a').api.cut = false;
    await until('a sees the new leader', () => elector('a').e.holder() === transitions[2]?.split(':')[0]);
    expect(transitions).toHaveLength(3);
  });

  it('while the API fails every request nobody leads; once it recovers exactly one does', async () => {
    start(['a'], FAST);
    await until('a leads', () => elector('a').e.isLeader());
    start(['b'], FAST);
    await until('b sees a', () => elector('b').e.holder() === 'a');
    fake.failNext(1_000_000, 500);
    await until('a steps down', () => !elector('a').e.isLeader());
    expect(transitions).toEqual(['a:leader', 'a:follower']);
    expect(leading.size).toBe(0);
    fake.failNext(0);
    await until('a leader again', () => [...leading][0]);
    expect(transitions).toHaveLength(3);
    expect(maxLeaders).toBe(1);
  });
});
