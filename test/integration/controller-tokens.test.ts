// Scoped bootstrap tokens against a real controller (DESIGN.md §2, §8), each case an attack of
// issue 8 at CI scale: `ambit token create|list|revoke` through the CLI; a node-1 token cannot
// bring a ztunnel up as node-2 (the real `ambit ztunnel` exits non-zero and the controller logs
// the refusal); ghost node names are refused with a scoped token and with the admin token; a
// revoked token gets nothing new and certificates issued under it stop renewing; a node that has
// no pod of a service account cannot mint its identity; lifetimes are capped at 24 h; a workload
// certificate renews itself only while its pod is still on the node that obtained it.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaClient, bootstrapNodeIdentity } from '../../core/identity/ca-client.js';
import { JOIN_TOKEN_FILE, ROOT_CERT_FILE } from '../../core/identity/controller-endpoint.js';
import type { IssuedCertificate } from '../../core/identity/issued-certificate.js';
import { runCli, startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { SAMPLE_PODS, sampleMeshYaml } from '../support/controller-fixtures.js';

const TD = 'cluster.local';
const TOKEN = /^([0-9a-f]{12})\.[A-Za-z0-9_-]{43}$/;

describe('scoped bootstrap tokens', () => {
  let ctl: ControllerHarness;
  const tokenFile = (name: string, token: string): string => {
    const f = path.join(ctl.stateDir, `${name}.token`);
    writeFileSync(f, `${token}\n`, { mode: 0o600 });
    return f;
  };
  const create = async (args: string[]): Promise<{ id: string; token: string }> => {
    const r = await ctl.cli(['token', 'create', ...args]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    const m = TOKEN.exec(token);
    expect(m, token).not.toBeNull();
    return { id: m?.[1] ?? '', token };
  };
  /** The node's identity from the CA, proven with the token in `file` (default: the join token). */
  const bootstrapNode = (node: string, file?: string): Promise<IssuedCertificate> =>
    bootstrapNodeIdentity({ controller: ctl.address, stateDir: ctl.stateDir, tokenFile: file, node });
  const withCa = async <T>(cert: IssuedCertificate, fn: (ca: CaClient) => Promise<T>): Promise<T> => {
    const ca = new CaClient({ controller: ctl.address, stateDir: ctl.stateDir, credentials: () => cert });
    try {
      return await fn(ca);
    } finally {
      ca.close();
    }
  };

  beforeAll(async () => {
    ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml({ waypoint: true }) } });
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
  }, 30_000);

  it('creates, lists and revokes tokens through the CLI; list never shows the secret', async () => {
    const a = await create(['--node', 'node-1']);
    const b = await create(['--waypoint', 'shop/waypoint', '--ttl', '1h']);
    const list = await ctl.cli(['token', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${a.id}\\s+node/node-1\\s+\\S+\\s+never\\s+-$`, 'm'));
    expect(list.stdout).toMatch(
      new RegExp(`^${b.id}\\s+waypoint/shop/waypoint\\s+\\S+\\s+\\d{4}-\\S+\\s+-$`, 'm'),
    );
    for (const t of [a, b]) expect(list.stdout).not.toContain(t.token.split('.')[1]);
    const revoked = await ctl.cli(['token', 'revoke', b.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`token ${b.id} (waypoint/shop/waypoint) revoked at`);
    const json = JSON.parse((await ctl.cli(['token', 'list', '-o', 'json'])).stdout) as {
      id: string;
      revokedAt: string;
    }[];
    expect(json.find((t) => t.id === b.id)?.revokedAt).toMatch(/^\d{4}-/);
    const bad = await ctl.cli(['token', 'create', '--node', 'Node 1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('is not a valid Node name');
    const unknown = await ctl.cli(['token', 'revoke', '000000000000']);
    expect(unknown.stderr).toContain('no token with id 000000000000');
  });

  it("refuses `ambit token` with a node's token instead of the operator credential", async () => {
    const node = await create(['--node', 'node-2']);
    // a state dir whose join-token is really node-2's scoped token
    const fake = mkdtempSync(path.join(tmpdir(), 'ambit-fake-operator-'));
    try {
      copyFileSync(path.join(ctl.stateDir, ROOT_CERT_FILE), path.join(fake, ROOT_CERT_FILE));
      writeFileSync(path.join(fake, JOIN_TOKEN_FILE), `${node.token}\n`);
      const r = await runCli([
        'token',
        'create',
        '--node',
        'node-1',
        '--controller',
        ctl.address,
        '--state-dir',
        fake,
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `token create needs the operator's credential (the state dir's join-token), not scoped token ${node.id}`,
      );
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it('a node-1 token cannot bring up a ztunnel as node-2, and the refusal is logged', async () => {
    const { id, token } = await create(['--node', 'node-1']);
    const mark = ctl.logMark();
    const r = await runCli([
      'ztunnel',
      '--node',
      'node-2',
      '--token-file',
      tokenFile('node1-for-node2', token),
      '--controller',
      ctl.address,
      '--state-dir',
      ctl.stateDir,
      '--address',
      '127.0.41.3',
      '--mesh-address',
      '127.0.41.3',
      '--workers',
      '1',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`token ${id} is bound to node node-1, not to node node-2`);
    const line = await ctl.waitForLog('certificate request refused', { since: mark });
    expect(line).toMatchObject({
      caller: `token ${id}`,
      reason: `token ${id} is bound to node node-1, not to node node-2`,
    });
  });

  it.each([
    [
      'a scoped token for a node absent from the config',
      'ghost',
      'scoped',
      'node ghost is not a Node in the config',
    ],
    [
      'the admin token for a node absent from the config',
      'ghost',
      'admin',
      'node ghost is not a Node in the config',
    ],
    [
      'the admin token for a name with a space and a comma',
      'node-1, O=x',
      'admin',
      'is not a valid Node name',
    ],
  ])('refuses %s', async (_d, node, cred, message) => {
    const tokenFileArg =
      cred === 'scoped' ? tokenFile(`scoped-${node}`, (await create(['--node', node])).token) : undefined;
    await expect(bootstrapNode(node, tokenFileArg)).rejects.toMatchObject({
      code: 'CA_PERMISSION_DENIED',
      message: expect.stringContaining(message),
    });
  });

  it('a revoked token gets nothing new, and certificates issued under it stop renewing', async () => {
    const { id, token } = await create(['--node', 'node-2']);
    const file = tokenFile('revoked-node-2', token);
    const node2 = await bootstrapNode('node-2', file);
    const subject = new X509Certificate(node2.certChainPem[0] ?? '').subject;
    expect(subject).toContain(`OU=token:${id}`);
    const pay = `spiffe://${TD}/ns/shop/sa/pay`;
    const wl = await withCa(node2, (ca) => ca.requestCertificate(pay));
    expect(new X509Certificate(wl.certChainPem[0] ?? '').subject).toContain('OU=node:node-2');

    const r = await ctl.cli(['token', 'revoke', id]);
    expect(r.code, r.stderr).toBe(0);
    const revoked = `token ${id} was revoked at`;
    await expect(bootstrapNode('node-2', file)).rejects.toMatchObject({
      message: expect.stringContaining(revoked),
    });
    await withCa(node2, async (ca) => {
      await expect(ca.requestCertificate(node2.identity)).rejects.toMatchObject({
        message: expect.stringContaining(revoked),
      });
      await expect(ca.requestCertificate(pay)).rejects.toMatchObject({
        message: expect.stringContaining(revoked),
      });
    });
    await withCa(wl, async (ca) => {
      await expect(ca.requestCertificate(pay)).rejects.toMatchObject({
        message: expect.stringContaining(revoked),
      });
    });
  });

  it('impersonation: a node without a pod of shop/web cannot mint shop/web, nor another node', async () => {
    // web-1 (service account web) runs only on node-1; node-2 holds its own token
    const { token } = await create(['--node', 'node-2']);
    const file = tokenFile('imp-node-2', token);
    const node2 = await bootstrapNode('node-2', file);
    const web = `spiffe://${TD}/ns/shop/sa/web`;
    await withCa(node2, async (ca) => {
      await expect(ca.requestCertificate(web)).rejects.toMatchObject({
        code: 'CA_PERMISSION_DENIED',
        message: expect.stringContaining(
          `node node-2 may not obtain ${web}: no pod with service account web in namespace shop is scheduled on node node-2`,
        ),
      });
    });
    await expect(bootstrapNode('node-1', file)).rejects.toMatchObject({ code: 'CA_PERMISSION_DENIED' });
  });

  it('caps lifetimes at 24 h and renews a workload certificate only while its pod is on that node', async () => {
    const node1 = await bootstrapNode('node-1');
    const cart = `spiffe://${TD}/ns/shop/sa/cart`;
    const wl = await withCa(node1, (ca) => ca.requestCertificate(cart, 90 * 24 * 3600_000));
    const hours = (wl.notAfter.getTime() - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    // self-renewal with its own certificate while cart-1 is on node-1
    const renewed = await withCa(wl, (ca) => ca.requestCertificate(cart));
    expect(renewed.identity).toBe(cart);
    // cart-1 leaves node-1 (cart-2 stays on node-2): the certificate obtained by node-1 stops renewing
    const mark = ctl.logMark();
    ctl.writeFile(
      'mesh.yaml',
      sampleMeshYaml({ waypoint: true, pods: SAMPLE_PODS.filter((p) => p.name !== 'cart-1') }),
    );
    await ctl.waitForLog('mesh state published', { since: mark });
    await withCa(renewed, async (ca) => {
      await expect(ca.requestCertificate(cart)).rejects.toMatchObject({
        code: 'CA_PERMISSION_DENIED',
        message: expect.stringContaining(
          `${cart} may not renew: no pod with service account cart in namespace shop is scheduled on node node-1 any more`,
        ),
      });
    });
    ctl.writeFile('mesh.yaml', sampleMeshYaml({ waypoint: true }));
  });
});
