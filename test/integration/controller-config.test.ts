// The embedded config store through the real CLI: `ambit config dump` lists every pod with its
// SPIFFE identity; bad edits are rejected whole, `ambit status` shows their errors, and the
// running controller keeps serving the previous config unchanged (config dump identical).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshState } from '../../core/model/mesh.js';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.js';
import { SAMPLE_PODS, sampleMeshYaml } from '../support/controller-fixtures.js';

const TD = 'cluster.local';

interface Dump {
  version: string;
  state: MeshState;
}

describe('controller config store through the CLI', () => {
  let ctl: ControllerHarness;
  let good: Dump;
  let goodYaml: string;

  async function dump(): Promise<Dump> {
    const r = await ctl.cli(['config', 'dump', '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Dump;
  }

  beforeAll(async () => {
    ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml() } });
    good = await dump();
    goodYaml = (await ctl.cli(['config', 'dump'])).stdout;
  }, 60_000);

  afterAll(async () => {
    await ctl?.stop();
  }, 30_000);

  it('config dump lists each pod with its SPIFFE identity, node, IP and enrolment', () => {
    for (const p of SAMPLE_PODS) {
      const w = good.state.workloads.find((x) => x.name === p.name)!;
      expect(w).toMatchObject({
        identity: `spiffe://${TD}/ns/shop/sa/${p.sa}`,
        node: p.node,
        ips: [p.ip],
        enrolled: true,
      });
      expect(goodYaml).toContain(`identity: spiffe://${TD}/ns/shop/sa/${p.sa}`);
    }
    const cart = good.state.services.find((s) => s.name === 'cart')!;
    expect(cart.vips).toEqual(['10.96.0.10']);
    expect(cart.endpoints.map((e) => e.ip)).toEqual(['10.1.1.10', '10.1.2.10']);
  });

  it.each([
    {
      description: 'bad YAML',
      file: 'mesh.yaml',
      text: sampleMeshYaml() + '---\nkind: [unclosed\n',
      error: 'mesh.yaml doc',
    },
    {
      description: 'an invalid port next to a valid change',
      file: 'extra.yaml',
      text: 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra, namespace: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: shop}\nspec: {ports: [{port: 0}]}\n',
      error: 'extra.yaml doc 2 Service shop/bad: spec.ports[0].port: must be 1-65535',
    },
    {
      description: 'an unknown kind',
      file: 'extra.yaml',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n',
      error: 'extra.yaml doc 1 Deployment shop/web: kind: unknown kind "Deployment"',
    },
    {
      description: 'a pod on a missing node',
      file: 'nested/dir/extra.yml',
      text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: lost, namespace: shop}\nspec: {nodeName: node-9}\nstatus: {podIP: 10.1.9.9}\n',
      error: 'nested/dir/extra.yml doc 1 Pod shop/lost: spec.nodeName: Node node-9 does not exist',
    },
  ])(
    'rejects $description whole: status shows the error, config dump is unchanged',
    async ({ file, text, error }) => {
      const mark = ctl.logMark();
      ctl.writeFile(file, text);
      await ctl.waitForLog(/config change rejected/, { since: mark });
      const status = await ctl.cli(['status', '-o', 'json']);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout) as {
        configVersion: string;
        lastRejected: { messages: string[] } | null;
      };
      expect(s.lastRejected).not.toBeNull();
      expect(
        s.lastRejected!.messages.some((m) => m.startsWith(error)),
        s.lastRejected!.messages.join('\n'),
      ).toBe(true);
      expect(s.configVersion).toBe(good.version);
      const text2 = await ctl.cli(['status']);
      expect(text2.stdout).toContain('last change REJECTED');
      expect(await dump()).toEqual(good);
      expect((await ctl.cli(['config', 'dump'])).stdout).toBe(goodYaml);
      // undo the bad edit so the next case starts from the good config
      const undo = ctl.logMark();
      if (file === 'mesh.yaml') ctl.writeFile(file, sampleMeshYaml());
      else ctl.removeFile(file);
      await ctl.waitForLog('config accepted', { since: undo });
    },
  );

  it('accepts a good edit afterwards and clears the rejection', async () => {
    const mark = ctl.logMark();
    ctl.writeFile('mesh.yaml', sampleMeshYaml({ cartPort: 8080 }));
    await ctl.waitForLog('mesh state published', { since: mark });
    const s = JSON.parse((await ctl.cli(['status', '-o', 'json'])).stdout) as {
      configVersion: string;
      lastRejected: unknown;
    };
    expect(s.lastRejected).toBeNull();
    expect(s.configVersion).not.toBe(good.version);
  });

  it('describe shows identity, enrolment, services and mTLS mode of one pod', async () => {
    const r = await ctl.cli(['describe', 'shop/cart-1', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      identity: `spiffe://${TD}/ns/shop/sa/cart`,
      node: 'node-1',
      enrolled: true,
      services: [{ namespace: 'shop', name: 'cart' }],
      mtlsMode: 'PERMISSIVE',
    });
    const missing = await ctl.cli(['describe', 'shop/ghost']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toMatch(/^ambit: CLI_NOT_FOUND: pod shop\/ghost is not in the mesh state/);
  });

  it('fails with a one-line cause when the controller is unreachable or the state dir is wrong', async () => {
    const { runCli } = await import('../support/controller-harness.js');
    const r = await runCli(['status', '--controller', '127.0.0.1:1', '--state-dir', ctl.stateDir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('CLI_CONTROLLER_UNREACHABLE');
    const r2 = await runCli(['config', 'dump', '--controller', ctl.address, '--state-dir', '/nonexistent']);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('ID_NO_ROOT_CERT');
  });
});
