import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CERT_FILE } from '../core/identity/controller-endpoint.js';
import { ControllerControlPlane } from './controller-control-plane.js';
import { ztError } from './errors.js';

describe('ControllerControlPlane', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a workload certificate asked for before the node certificate it would present (ZT_NO_NODE_CERT)', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'ambit-cp-'));
    dirs.push(stateDir);
    // read when the CA client is made; never used, the call fails before any channel opens
    writeFileSync(path.join(stateDir, ROOT_CERT_FILE), 'not dialled\n');
    const cp = new ControllerControlPlane({ controller: '127.0.0.1:9', stateDir, node: 'node-1' });
    try {
      const err = await cp
        .workloadRotator('spiffe://cluster.local/ns/shop/sa/web', () => undefined)
        .start()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(ztError.is(err, 'ZT_NO_NODE_CERT')).toBe(true);
      expect(String(err)).toContain('node node-1');
    } finally {
      cp.close();
    }
  });
});
