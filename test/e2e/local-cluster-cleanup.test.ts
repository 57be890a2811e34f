// The local cluster leaves nothing behind even when its process is interrupted: SIGINT runs
// the teardown handlers; SIGKILL (no handler can run) is swept by cleanupStale(prefix).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupStale, leftovers } from '../../local-cluster/cleanup.js';
import { kernelTestsEnabled, repoRoot } from './kernel-env.js';

const enabled = kernelTestsEnabled();

/** Starts a cluster (with an agent) in a child process; resolves with the child once it is up. */
async function clusterInChild(): Promise<{ child: ReturnType<typeof spawn>; prefix: string }> {
  const dist = path.join(repoRoot, 'dist', 'local-cluster');
  const script = `
    import { LocalCluster } from '${dist}/cluster.js';
    import { meshStateFor } from '${dist}/computed-mesh-state.js';
    const c = await LocalCluster.create({});
    c.writeMeshState(meshStateFor(c.topology));
    await c.startAgent(1, { stateFile: true });
    process.stdout.write('UP ' + c.prefix + '\\n');
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const prefix = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('child cluster did not come up')), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /UP (\S+)/.exec(buf);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  return { child, prefix };
}

describe.skipIf(!enabled)('local cluster cleanup', () => {
  it('SIGINT tears everything down', async () => {
    const { child, prefix } = await clusterInChild();
    try {
      expect(leftovers(prefix).length).toBeGreaterThan(0);
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGINT');
      await exited;
      expect(leftovers(prefix)).toEqual([]);
    } finally {
      await cleanupStale(prefix);
    }
  });

  it('after SIGKILL, cleanupStale(prefix) sweeps what the dead run left', async () => {
    const { child, prefix } = await clusterInChild();
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(leftovers(prefix).length).toBeGreaterThan(0);
    await cleanupStale(prefix);
    expect(leftovers(prefix)).toEqual([]);
  });
});
