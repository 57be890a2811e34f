// `ambit controller` flags through the real CLI: --kubeconfig says clearly that the Kubernetes
// store is not built (non-zero exit), bad flags fail with one line, an operator-supplied root
// (--ca-cert/--ca-key) is the trust root it writes and signs with, and a generated root survives
// a restart (persisted in the state dir, key 0600), as does the join token.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../core/identity/certificate-authority.js';
import { bootstrapNodeIdentity } from '../../core/identity/ca-client.js';
import { runCli, startControllerHarness } from '../support/controller-harness.js';
import { sampleMeshYaml } from '../support/controller-fixtures.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'ambit-ctl-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ambit controller flags', () => {
  it.each([
    [
      ['--kubeconfig', '/nonexistent/kubeconfig'],
      'CTL_KUBE_API: cannot load kubeconfig /nonexistent/kubeconfig: ENOENT',
    ],
    [[], 'CTL_NO_CONFIG_SOURCE: no config source: give --config DIR'],
    [
      ['--config', '/tmp', '--kubeconfig', '/nonexistent/kubeconfig'],
      'CTL_NO_CONFIG_SOURCE: give either --config DIR or --kubeconfig PATH, not both',
    ],
    [['--config', '/nonexistent/dir'], 'CTL_CONFIG_DIR: config directory /nonexistent/dir is not readable'],
    [
      ['--config', tmp, '--ca-cert', '/nonexistent.pem'],
      'CTL_CA_FILES: --ca-cert and --ca-key must be given together',
    ],
    [['--config', tmp, '--listen', 'nonsense'], 'CTL_LISTEN: --listen nonsense is not HOST:PORT'],
  ])('%j fails with one line: %s', async (flags, message) => {
    const r = await runCli(['controller', '--state-dir', path.join(tmp, 'state-fail'), ...flags]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
  });

  it('uses an operator-supplied root as the trust root and signs with it', async () => {
    const ca = await CertificateAuthority.generate('cluster.local');
    const certFile = path.join(tmp, 'op-ca.pem');
    const keyFile = path.join(tmp, 'op-ca-key.pem');
    writeFileSync(certFile, ca.rootPem);
    writeFileSync(keyFile, ca.keyPem);
    const ctl = await startControllerHarness({
      files: { 'mesh.yaml': sampleMeshYaml() },
      extraArgs: ['--ca-cert', certFile, '--ca-key', keyFile],
    });
    try {
      expect(readFileSync(path.join(ctl.stateDir, 'root-cert.pem'), 'utf8')).toBe(ca.rootPem);
      const node = await bootstrapNodeIdentity({
        controller: ctl.address,
        stateDir: ctl.stateDir,
        node: 'node-1',
      });
      expect(
        new X509Certificate(node.certChainPem[0]!).verify(new X509Certificate(ca.rootPem).publicKey),
      ).toBe(true);
    } finally {
      await ctl.stop();
    }
  });

  it('keeps a generated root and the join token across restarts', async () => {
    const ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml() } });
    try {
      const root = readFileSync(path.join(ctl.stateDir, 'root-cert.pem'), 'utf8');
      const token = readFileSync(path.join(ctl.stateDir, 'join-token'), 'utf8');
      expect(statSync(path.join(ctl.stateDir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(ctl.stateDir, 'join-token')).mode & 0o777).toBe(0o600);
      expect(token.trim()).toMatch(/^[0-9a-f]{64}$/);
      await ctl.restart();
      expect(readFileSync(path.join(ctl.stateDir, 'root-cert.pem'), 'utf8')).toBe(root);
      expect(readFileSync(path.join(ctl.stateDir, 'join-token'), 'utf8')).toBe(token);
      const node = await bootstrapNodeIdentity({
        controller: ctl.address,
        stateDir: ctl.stateDir,
        node: 'node-2',
      });
      expect(node.rootPem).toBe(root);
    } finally {
      await ctl.stop();
    }
  });
});
