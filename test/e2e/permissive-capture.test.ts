// PERMISSIVE capture e2e (issue 11 item 1) on the local cluster with the real controller, agents
// and ztunnels: plaintext to a PERMISSIVE enrolled pod is steered by sk_lookup into the ztunnel's
// in-pod listener, so an ALLOW AuthorizationPolicy refuses a plaintext client it does not name
// (DENY in the access log) and admits one it does, both counted in
// istio_tcp_connections_opened_total with reporter=destination. STRICT still drops plaintext;
// an unenrolled destination and a kubelet-style probe from the node address are untouched. The
// cluster is dual stack: an IPv6 connect from an enrolled pod crosses both ztunnels over HBONE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../local-cluster/cluster.js';
import { leftovers } from '../../local-cluster/cleanup.js';
import { writeAuthorizationPolicies, writePeerAuthentications } from '../../local-cluster/manifests.js';
import { scrapeMetrics } from '../../local-cluster/demo.js';
import type { ManagedProcess } from '../../local-cluster/processes.js';
import { ECHO_PORT, HTTP_PORT, type TopologySpec } from '../../local-cluster/topology.js';
import { kernelTestsEnabled, until } from './kernel-env.js';

const enabled = kernelTestsEnabled();

const spec: TopologySpec = {
  nodes: 2,
  ipv6: true,
  namespaces: [
    { name: 'perm', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
    { name: 'strict', labels: { 'ambit.dev/dataplane-mode': 'ambient' } },
    { name: 'plain', labels: {} },
  ],
  pods: [
    { name: 'srv', namespace: 'perm', node: 1, labels: { app: 'srv' }, serviceAccount: 'srv' },
    { name: 'locked', namespace: 'strict', node: 1, labels: { app: 'locked' } },
    { name: 'plain-near', namespace: 'plain', node: 1, labels: { app: 'near' } },
    { name: 'plain-far', namespace: 'plain', node: 2, labels: { app: 'far' } },
    { name: 'mesh-far', namespace: 'strict', node: 2, labels: { app: 'mesh-far' } },
  ],
  services: [],
};

interface Access {
  direction: string;
  decision?: string;
  src: { ip: string };
  dst?: { ip?: string; port?: number };
  originalDestination?: string;
}

describe.skipIf(!enabled)('PERMISSIVE capture into the ztunnel (sk_lookup + in-pod listener)', () => {
  let cluster: LocalCluster;
  let prefix = '';
  const ztunnels: ManagedProcess[] = [];

  const access = (node: number): Access[] =>
    (ztunnels[node - 1]?.lines ?? [])
      .filter((l) => l.includes('"access"'))
      .map((l) => (JSON.parse(l) as { access?: Access }).access)
      .filter((a): a is Access => a !== undefined);

  const openedAtDestination = (flags: string) =>
    scrapeMetrics(cluster, 1)
      .filter(
        (s) =>
          s.name === 'istio_tcp_connections_opened_total' &&
          s.labels.reporter === 'destination' &&
          s.labels.destination_workload === 'srv' &&
          s.labels.connection_security_policy === 'unknown' &&
          s.labels.response_flags === flags,
      )
      .reduce((a, s) => a + s.value, 0);

  beforeAll(async () => {
    cluster = await LocalCluster.create({ spec, signalHandlers: false });
    prefix = cluster.prefix;
    // srv admits plaintext from plain-far only; the strict namespace refuses plaintext outright
    writeAuthorizationPolicies(cluster.configDir, [
      {
        name: 'only-far',
        namespace: 'perm',
        selector: { app: 'srv' },
        action: 'ALLOW',
        rules: [
          {
            from: [
              {
                source: {
                  ipBlocks: [
                    `${cluster.pod('plain-far').ip}/32`,
                    `${cluster.pod('plain-far').ip6 ?? ''}/128`,
                  ],
                },
              },
            ],
          },
        ],
      },
    ]);
    writePeerAuthentications(cluster.configDir, { strict: 'STRICT' });
    await cluster.startController();
    for (const n of cluster.topology.nodes) await cluster.startAgent(n.index);
    for (const n of cluster.topology.nodes) ztunnels.push(await cluster.startZtunnel(n.index));
    const srvIp = cluster.pod('srv').ip;
    await until(
      'the ztunnel on node 1 to capture srv',
      () => ztunnels[0]?.lines.some((l) => l.includes('PERMISSIVE capture in place') && l.includes(srvIp)),
      10_000,
    );
  });

  afterAll(async () => {
    await cluster?.teardown();
    if (prefix) expect(leftovers(prefix)).toEqual([]);
  });

  it('a plaintext client the ALLOW policy names is admitted through the ztunnel (other node)', async () => {
    const srv = cluster.pod('srv');
    const far = cluster.pod('plain-far');
    const before = openedAtDestination('-');
    const r = await cluster.runInPod('plain-far', srv.ip, ECHO_PORT, [
      '--send',
      'allowed\n',
      '--timeout',
      '5000',
    ]);
    expect(r).toMatchObject({ ok: true, reply: 'allowed\n' });
    await until(
      'the inbound-plaintext access line for plain-far',
      () =>
        access(1).find(
          (a) =>
            a.direction === 'inbound-plaintext' &&
            a.src.ip === far.ip &&
            a.originalDestination === `${srv.ip}:${ECHO_PORT}` &&
            a.decision === 'forward',
        ),
      5000,
    );
    await until('opened counted with reporter=destination', () => openedAtDestination('-') > before, 5000);
  });

  it('a plaintext client the ALLOW policy does not name is refused by the ztunnel (same node), logged and counted as DENY', async () => {
    const srv = cluster.pod('srv');
    const near = cluster.pod('plain-near');
    const before = openedAtDestination('DENY');
    const r = await cluster.runInPod('plain-near', srv.ip, ECHO_PORT, [
      '--send',
      'denied\n',
      '--timeout',
      '3000',
    ]);
    expect(r.ok).toBe(false);
    expect(r.reply ?? '').not.toContain('denied');
    const line = await until(
      'the DENY access line for plain-near',
      () =>
        access(1).find(
          (a) =>
            a.direction === 'inbound-plaintext' && a.src.ip === near.ip && a.decision === 'reject:policy',
        ),
      5000,
    );
    expect(line.originalDestination).toBe(`${srv.ip}:${ECHO_PORT}`);
    await until(
      'refusal counted with reporter=destination',
      () => openedAtDestination('DENY') > before,
      5000,
    );
  });

  it('STRICT still drops plaintext; an unenrolled destination and a node probe are untouched', async () => {
    const locked = cluster.pod('locked');
    expect(
      await cluster.runInPod('plain-near', locked.ip, ECHO_PORT, ['--send', 'x\n', '--timeout', '700']),
    ).toMatchObject({ ok: false, error: 'connect timeout' });

    const linesBefore = access(2).length;
    const far = cluster.pod('plain-far');
    const direct = await cluster.runInPod('plain-near', far.ip, HTTP_PORT, ['--http', '/who']);
    expect(direct.ok).toBe(true);
    expect(direct.reply).toContain(`"from":"::ffff:${cluster.pod('plain-near').ip}"`);

    const linesBefore1 = access(1).length;
    const probe = await cluster.runInNode(1, cluster.pod('srv').ip, HTTP_PORT, ['--http', '/healthz']);
    expect(probe.ok).toBe(true);
    expect(probe.reply).toContain(`"from":"::ffff:${cluster.node(1).bridgeAddress}"`);
    // Not a wait for a condition: a quiet window in which a wrongly captured connection's access
    // line would show (a line that never comes cannot be waited for).
    await new Promise((r) => setTimeout(r, 200));
    expect(access(2).slice(linesBefore)).toEqual([]);
    expect(
      access(1)
        .slice(linesBefore1)
        .filter((a) => a.direction === 'inbound-plaintext'),
    ).toEqual([]);
  });

  it('an IPv6 connect from an enrolled pod to a mesh pod goes through both ztunnels (HBONE), not around them', async () => {
    const locked = cluster.pod('locked');
    const dst = locked.ip6 ?? '';
    const r = await cluster.runInPod('mesh-far', dst, HTTP_PORT, ['--http', '/who', '--timeout', '5000']);
    expect(r.ok).toBe(true);
    // the STRICT pod was reached, so through the mesh; the destination ztunnel dialled it
    expect(r.reply).not.toContain(`"from":"${cluster.pod('mesh-far').ip6 ?? ''}"`);
    await until(
      'the outbound access line on node 2 with the IPv6 original destination',
      () =>
        access(2).find(
          (a) => a.direction === 'outbound' && a.originalDestination === `[${dst}]:${HTTP_PORT}`,
        ),
      5000,
    );
    await until(
      'the inbound (HBONE) access line on node 1',
      () => access(1).find((a) => a.direction === 'inbound' && a.dst?.ip === dst && a.decision === 'forward'),
      5000,
    );
  });

  it('IPv6 plaintext to the dual-stack PERMISSIVE pod is captured too: the named client admitted, another refused', async () => {
    const srv6 = cluster.pod('srv').ip6 ?? '';
    const far6 = cluster.pod('plain-far').ip6 ?? '';
    const near6 = cluster.pod('plain-near').ip6 ?? '';
    expect(
      await cluster.runInPod('plain-far', srv6, ECHO_PORT, ['--send', 'allowed6\n', '--timeout', '5000']),
    ).toMatchObject({ ok: true, reply: 'allowed6\n' });
    const denied = await cluster.runInPod('plain-near', srv6, ECHO_PORT, [
      '--send',
      'denied6\n',
      '--timeout',
      '3000',
    ]);
    expect(denied.ok).toBe(false);
    const orig = `[${srv6}]:${ECHO_PORT}`;
    await until(
      'IPv6 inbound-plaintext access lines (forward for plain-far, reject:policy for plain-near)',
      () => {
        const lines = access(1).filter(
          (a) => a.direction === 'inbound-plaintext' && a.originalDestination === orig,
        );
        return (
          lines.some((a) => a.src.ip === far6 && a.decision === 'forward') &&
          lines.some((a) => a.src.ip === near6 && a.decision === 'reject:policy')
        );
      },
      5000,
    );
  });
});
