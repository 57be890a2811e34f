// An AuthorizationPolicy written through the controller's config store makes the destination
// ztunnel answer 401 to the CONNECT, counts the connection with response_flags="DENY" and the
// right labels, logs exactly one access line naming the policy; deleting the file lets new
// connections through again, with no ztunnel restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { ControllerHarness } from '../support/controller-harness.js';
import type { ZtunnelProcess } from '../support/ztunnel-process.js';
import { startZtunnelMesh, type ZtunnelMesh } from '../support/ztunnel-pair.js';
import { ztunnelMeshYaml } from '../support/controller-mesh-yaml.js';
import { echoServer } from '../support/two-node-mesh.js';
import { socks5Connect, Socks5Refused } from '../support/socks5-client.js';
import { until } from '../support/until.js';

const P = '127.0.40';
const SOCKS = 15080;
let mesh: ZtunnelMesh;
let ctl: ControllerHarness;
let z1: ZtunnelProcess;
let z2: ZtunnelProcess;
let echo: net.Server;

const DENY = `apiVersion: security.ambit.dev/v1
kind: AuthorizationPolicy
metadata: {name: deny-client, namespace: shop}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/client"]}}]}]
`;

beforeAll(async () => {
  echo = await echoServer(`${P}.12`);
  const ports = { echo: (echo.address() as net.AddressInfo).port, halfClose: 1 };
  mesh = await startZtunnelMesh({ prefix: P, meshYaml: ztunnelMeshYaml(P, ports), socks5Port: SOCKS });
  ({ ctl, z1, z2 } = mesh);
}, 90_000);

afterAll(async () => {
  await mesh?.stop();
  echo?.close();
}, 30_000);

async function tryEcho(text: string): Promise<string> {
  const s = await socks5Connect(
    { host: `${P}.2`, port: SOCKS },
    { ip: `${P}.12`, port: (echo.address() as net.AddressInfo).port },
    `${P}.11`,
  );
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.resume();
    s.end(text);
  });
}

describe('L4 AuthorizationPolicy through the controller', () => {
  it('DENY gives 401, DENY metrics and one access-log line; removing it restores access without restart', async () => {
    expect(await tryEcho('before')).toBe('before');
    const pid = z2.child.pid;

    ctl.writeFile('policy.yaml', DENY);
    await until('the policy to reach node-2', async () =>
      (await z2.get('/config_dump')).body.includes('deny-client'),
    );
    const logsBefore = z2.access().length;
    await expect(tryEcho('denied')).rejects.toBeInstanceOf(Socks5Refused);

    const dst = (await z2.get('/metrics')).body;
    const line = dst
      .split('\n')
      .find(
        (l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes('response_flags="DENY"'),
      );
    expect(line).toBeDefined();
    expect(line).toContain('reporter="destination"');
    expect(line).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
    expect(line).toContain('source_workload="client"');
    expect(line).toContain('destination_workload="echo"');
    expect(line).toContain('destination_workload_namespace="shop"');
    expect(line).toContain('connection_security_policy="mutual_tls"');
    expect(line).toMatch(/ 1$/);
    const src = (await z1.get('/metrics')).body;
    expect(src).toMatch(
      /istio_tcp_connections_opened_total\{[^}]*reporter="source"[^}]*response_flags="DENY"[^}]*\} 1/,
    );

    await until('the access log line', async () => z2.access().length > logsBefore);
    // Not a wait for a condition: a quiet window in which a duplicate line would show (a line
    // that does not come cannot be waited for), so "exactly one" below means something.
    await new Promise((r) => setTimeout(r, 200));
    const lines = z2.access().slice(logsBefore) as { access: Record<string, unknown> }[];
    expect(lines).toHaveLength(1);
    expect(lines[0]!.access).toMatchObject({
      direction: 'inbound',
      decision: 'reject:policy',
      policy: 'shop/deny-client',
      result: '401',
      responseFlags: 'DENY',
    });

    ctl.removeFile('policy.yaml');
    await until(
      'the policy to be gone from node-2',
      async () => !(await z2.get('/config_dump')).body.includes('deny-client'),
    );
    expect(await tryEcho('after')).toBe('after');
    expect(z2.child.pid).toBe(pid);
    expect(z2.child.exitCode).toBeNull();
  });
});
