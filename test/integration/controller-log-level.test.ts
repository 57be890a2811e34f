// AMBIT_LOG_LEVEL works for the controller as for every long-running command (core/telemetry/
// logger.ts): at debug a certificate issue logs its debug line, at the default info it does not,
// and an unknown level ends the command with LOG_BAD_LEVEL before anything starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapNodeIdentity } from '../../core/identity/ca-client.js';
import { cliPath, startControllerHarness } from '../support/controller-harness.js';
import { sampleMeshYaml } from '../support/controller-fixtures.js';
import { spawnSync } from 'node:child_process';

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('AMBIT_LOG_LEVEL for ambit controller', () => {
  for (const [level, debugShown] of [
    ['debug', true],
    ['info', false],
  ] as const) {
    it(`at ${level} the certificate-issued debug line is ${debugShown ? 'logged' : 'not logged'}`, async () => {
      const ctl = await startControllerHarness({ files: { 'mesh.yaml': sampleMeshYaml() }, logLevel: level });
      try {
        const cert = await bootstrapNodeIdentity({
          controller: ctl.address,
          stateDir: ctl.stateDir,
          node: 'node-1',
        });
        expect(cert.identity).toBe('spiffe://cluster.local/ambit/node/node-1');
        if (debugShown) {
          expect(await ctl.waitForLog('certificate issued')).toMatchObject({
            level: 20,
            name: 'controller',
            identity: 'spiffe://cluster.local/ambit/node/node-1',
          });
        }
        const lines = jsonLines(ctl.logs());
        expect(lines.length).toBeGreaterThan(0);
        expect(lines.every((l) => l.name === 'controller')).toBe(true);
        expect(lines.some((l) => l.level === 20)).toBe(debugShown);
      } finally {
        await ctl.stop();
      }
    });
  }

  it('an unknown level ends the command with LOG_BAD_LEVEL', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ambit-loglevel-'));
    try {
      const r = spawnSync(
        process.execPath,
        [
          cliPath(),
          'controller',
          '--config',
          dir,
          '--state-dir',
          path.join(dir, 'state'),
          '--listen',
          '127.0.0.1:0',
        ],
        { env: { ...process.env, AMBIT_LOG_LEVEL: 'loud' }, encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/LOG_BAD_LEVEL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
